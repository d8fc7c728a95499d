import { describe, expect, it } from 'vitest';
import { firstStatusDelayMs } from '../../src/controllers/first-status.ts';
import type { Condition } from '../../src/runtime/conditions.ts';

// When a new resource's first status is held back: one row per case.

const now = new Date('2026-01-01T01:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000);
const c = (type: string, status: Condition['status'], reason: string): Condition => ({ type, status, reason, message: '', lastTransitionTime: '2026-01-01T00:00:00Z' });
const onItsWay = [c('Ready', 'False', 'ReplicasNotReady'), c('Progressing', 'True', 'RollingOut'), c('Degraded', 'False', 'AsExpected')];
const ready = [c('Ready', 'True', 'ReplicasReady'), c('Progressing', 'False', 'RolloutComplete'), c('Degraded', 'False', 'AsExpected')];

const table: [string, Condition[] | undefined, Condition[], Date | undefined, number | undefined][] = [
  // name, conditions written so far, computed, workloads created, delay (ms)
  ['new, rolling out for 10 s of 30: held back 20 s', undefined, onItsWay, ago(10), 20_000],
  ['new, rolling out past the grace: written', undefined, onItsWay, ago(31), undefined],
  ['new and Ready: written', undefined, ready, ago(1), undefined],
  ['new, pods unschedulable: written', undefined, [c('Ready', 'False', 'PodUnschedulable'), onItsWay[1]!, onItsWay[2]!], ago(1), undefined],
  ['new, invalid spec: written', undefined, [c('Ready', 'False', 'InvalidSpec'), c('Progressing', 'False', 'InvalidSpec'), c('Degraded', 'True', 'InvalidSpec')], undefined, undefined],
  ['new, no workload yet: written', undefined, [c('Ready', 'False', 'WorkloadMissing'), c('Progressing', 'True', 'Creating'), onItsWay[2]!], undefined, undefined],
  ['a status written before: never held back', ready, onItsWay, ago(1), undefined],
];

describe('firstStatusDelayMs', () => {
  for (const [name, before, after, created, want] of table) {
    it(name, () => {
      expect(firstStatusDelayMs({ before, after, workloadsCreated: created, now, graceSeconds: 30 })).toBe(want);
    });
  }
});
