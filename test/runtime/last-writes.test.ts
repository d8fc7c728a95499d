import { describe, expect, it } from 'vitest';
import { LastWrites } from '../../src/runtime/last-writes.ts';

describe('LastWrites', () => {
  it('answers what we wrote while the cache shows the version we wrote over, and forgets it once the cache moves', () => {
    const w = new LastWrites(() => 0);
    w.record('cm/a', '10', 'hash-1');
    expect(w.unseen('cm/a', '10')).toBe('hash-1');
    expect(w.unseen('cm/a', '11')).toBeUndefined();
    // Forgotten for good: the same old version no longer answers.
    expect(w.unseen('cm/a', '10')).toBeUndefined();
  });

  it('a create (no version before) is unseen while the cache has no object', () => {
    const w = new LastWrites(() => 0);
    w.record('cm/b', undefined, 'hash-2');
    expect(w.unseen('cm/b', undefined)).toBe('hash-2');
    expect(w.unseen('cm/c', undefined)).toBeUndefined();
  });

  it('drops writes older than a minute (objects deleted since), oldest first', () => {
    let t = 0;
    const w = new LastWrites(() => t);
    w.record('old', '1', 'x');
    t = 30_000;
    w.record('newer', '1', 'y');
    t = 61_000;
    w.record('newest', '1', 'z');
    expect(w.unseen('old', '1')).toBeUndefined();
    expect(w.unseen('newer', '1')).toBe('y');
    expect(w.unseen('newest', '1')).toBe('z');
  });
});
