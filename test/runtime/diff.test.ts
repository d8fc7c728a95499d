import { describe, expect, it } from 'vitest';
import { APPLIED_HASH_ANNOTATION, applyReason, hashObject, isSubset, stableStringify, withAppliedHash } from '../../src/runtime/diff.ts';

describe('isSubset', () => {
  const cases: [string, unknown, unknown, boolean][] = [
    ['equal scalars', 1, 1, true],
    ['extra server fields are fine', { a: 1 }, { a: 1, b: 2 }, true],
    ['changed field', { a: 1 }, { a: 2 }, false],
    ['missing field', { a: 1, c: 3 }, { a: 1 }, false],
    ['nested', { s: { r: 3 } }, { s: { r: 3, x: 1 } }, true],
    ['list of different length', { l: [1, 2] }, { l: [1, 2, 3] }, false],
    ['list elements as subsets', { l: [{ n: 'a' }] }, { l: [{ n: 'a', p: 'TCP' }] }, true],
    ['number vs string of same value', { port: 8080 }, { port: '8080' }, true],
    ['object vs list', { a: {} }, { a: [] }, false],
  ];
  for (const [name, want, have, expected] of cases) {
    it(name, () => expect(isSubset(want, have)).toBe(expected));
  }
});

describe('applyReason', () => {
  const desired = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'n' }, data: { a: '1' } };
  const applied = withAppliedHash(desired);

  it('stable hashing ignores key order', () => {
    expect(stableStringify({ b: 1, a: { d: 2, c: 3 } })).toBe(stableStringify({ a: { c: 3, d: 2 }, b: 1 }));
    expect(hashObject({ b: 1, a: 2 })).toBe(hashObject({ a: 2, b: 1 }));
  });
  it('applies a missing child', () => expect(applyReason(applied, undefined)).toBe('missing'));
  it('skips a child that is as we applied it', () => {
    const current = { ...applied, metadata: { ...applied.metadata, uid: 'u', resourceVersion: '5' } };
    expect(applyReason(applied, current)).toBeUndefined();
  });
  it('applies when someone edited a field we own', () => {
    const current = { ...applied, data: { a: 'hand-edited' } };
    expect(applyReason(applied, current)).toBe('drifted at .data.a');
  });
  it('applies when we stopped setting a field (the hash differs)', () => {
    const before = withAppliedHash({ ...desired, data: { a: '1', b: '2' } });
    expect(before.metadata.annotations[APPLIED_HASH_ANNOTATION]).not.toBe(applied.metadata.annotations[APPLIED_HASH_ANNOTATION]);
    expect(applyReason(applied, before)).toBe('desired state changed');
  });
});
