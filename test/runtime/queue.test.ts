import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/runtime/queue.ts';

describe('WorkQueue', () => {
  it('holds a waiting key once however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
  });

  it('never hands a key being processed to a second worker, and runs it again after', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a'); // changed while processing
    q.add('b');
    // A second worker gets b, not a.
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
    q.done('b');
    q.done('a');
    // a comes back once, after its first pass finished.
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('wakes a waiting worker when a key is added', async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add('x');
    expect(await got).toBe('x');
  });

  it('backs off exponentially per key and forgets on success', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 100 });
    const delays = [1, 2, 3, 4, 5, 6].map(() => q.addRateLimited('k'));
    expect(delays).toEqual([10, 20, 40, 80, 100, 100]);
    expect(q.addRateLimited('other')).toBe(10);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
    expect(q.addRateLimited('k')).toBe(10);
    q.shutDown();
  });

  it('keeps the earliest of several delayed adds', async () => {
    const q = new WorkQueue();
    q.addAfter('k', 10_000);
    q.addAfter('k', 20);
    q.addAfter('k', 5_000);
    const start = Date.now();
    expect(await q.get()).toBe('k');
    expect(Date.now() - start).toBeLessThan(2_000);
    q.shutDown();
  });

  it('releases waiting workers on shutdown', async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.shutDown();
    expect(await got).toBeUndefined();
    q.add('late');
    expect(q.length).toBe(0);
  });
});
