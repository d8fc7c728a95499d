import { describe, expect, it } from 'vitest';
import { setConditions, transitions } from '../../src/runtime/conditions.ts';

describe('setConditions', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:05:00Z');
  it('keeps lastTransitionTime while the status stays the same', () => {
    const a = setConditions([], [{ type: 'Ready', status: 'False', reason: 'ReplicasNotReady', message: '0/1' }], t0);
    const b = setConditions(a, [{ type: 'Ready', status: 'False', reason: 'ReplicasNotReady', message: '0/2' }], t1);
    expect(b[0]!.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(b[0]!.message).toBe('0/2');
  });
  it('moves lastTransitionTime when the status flips', () => {
    const a = setConditions([], [{ type: 'Ready', status: 'False', reason: 'X', message: '' }], t0);
    const b = setConditions(a, [{ type: 'Ready', status: 'True', reason: 'ReplicasReady', message: '' }], t1);
    expect(b[0]!.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
    expect(transitions(a, b).map((c) => c.type)).toEqual(['Ready']);
    expect(transitions(b, b)).toEqual([]);
  });
  it('keeps conditions of other types', () => {
    const a = setConditions([], [{ type: 'Custom', status: 'True', reason: 'X', message: '' }], t0);
    const b = setConditions(a, [{ type: 'Ready', status: 'True', reason: 'Y', message: '' }], t1);
    expect(b.map((c) => c.type)).toEqual(['Custom', 'Ready']);
  });
});
