import { describe, expect, it } from 'vitest';
import { computeConditions, type Observation } from '../../src/controllers/conditions.ts';
import type { WorkloadUpgrade } from '../../src/controllers/rollout.ts';
import { workloadState } from '../../src/controllers/workload.ts';

const now = new Date('2026-01-01T01:00:00Z');
const sts = (desired: number, ready: number, updated = ready, observedGeneration = 1) =>
  workloadState({ kind: 'StatefulSet', metadata: { name: 'pool-macd', generation: 1 }, spec: { replicas: desired }, status: { observedGeneration, readyReplicas: ready, updatedReplicas: updated } });
const base: Observation = { generation: 3, workloads: [], now, progressDeadlineSeconds: 600 };
const withProblems = (w: ReturnType<typeof sts>, ...problems: [string, string][]) => ({ ...w, problems: problems.map(([reason, message]) => ({ reason, message })) });
const progressing = (status: 'True' | 'False', reason: string, since: string, observedGeneration = 3): Observation['lastProgressing'] => ({ status, reason, since: new Date(since), observedGeneration });
const upgrade = (extra: Partial<WorkloadUpgrade> = {}): WorkloadUpgrade => ({ kind: 'StatefulSet', name: 'pool-macd', from: ['alcor-operator:0.1.0'], to: 'alcor-operator:0.3.0', done: ['pool-macd-2'], toGo: ['pool-macd-1', 'pool-macd-0'], ...extra });
const upgrading = (w: ReturnType<typeof sts>, extra: Partial<WorkloadUpgrade> = {}) => ({ ...w, upgrade: upgrade(extra) });
const probeFailing: [string, string] = ['ReadinessProbeFailing', 'readiness probe GET /actuator/health on port http failing (container macmanager)'];

const table: [string, Partial<Observation>, [string, string], [string, string], [string, string]][] = [
  // name, observation, Ready [status, reason], Progressing, Degraded
  ['all replicas ready', { workloads: [sts(3, 3)] }, ['True', 'ReplicasReady'], ['False', 'RolloutComplete'], ['False', 'AsExpected']],
  ['workload not created yet', { workloads: [] }, ['False', 'WorkloadMissing'], ['True', 'Creating'], ['False', 'AsExpected']],
  ['rolling out', { workloads: [sts(3, 1)] }, ['False', 'ReplicasNotReady'], ['True', 'RollingOut'], ['False', 'AsExpected']],
  ['spec not yet observed by the workload controller', { workloads: [sts(3, 3, 3, 0)] }, ['False', 'ReplicasNotReady'], ['True', 'RollingOut'], ['False', 'AsExpected']],
  [
    'not ready past the deadline',
    { workloads: [sts(3, 0)], notReadySince: new Date('2026-01-01T00:30:00Z') },
    ['False', 'ReplicasNotReady'],
    ['False', 'ProgressDeadlineExceeded'],
    ['True', 'ProgressDeadlineExceeded'],
  ],
  ['invalid spec wins over everything', { invalid: 'spec.x: bad', workloads: [sts(3, 3)] }, ['False', 'InvalidSpec'], ['False', 'InvalidSpec'], ['True', 'InvalidSpec']],
  [
    'conflict with another resource',
    { conflict: { reason: 'OverlappingSubnet', message: 'overlaps a' } },
    ['False', 'OverlappingSubnet'],
    ['False', 'OverlappingSubnet'],
    ['True', 'OverlappingSubnet'],
  ],
  ['apply failed', { applyError: 'forbidden', workloads: [sts(1, 1)] }, ['False', 'ApplyFailed'], ['False', 'ApplyFailed'], ['True', 'ApplyFailed']],
  [
    'a warning from the servers while ready',
    { workloads: [sts(2, 2)], warning: { reason: 'AddressConflicts', message: '9 conflicts' } },
    ['True', 'ReplicasReady'],
    ['False', 'RolloutComplete'],
    ['True', 'AddressConflicts'],
  ],
  [
    'a rollout past its deadline outranks a warning',
    { workloads: [sts(3, 0)], notReadySince: new Date('2026-01-01T00:30:00Z'), warning: { reason: 'AddressConflicts', message: '9 conflicts' } },
    ['False', 'ReplicasNotReady'],
    ['False', 'ProgressDeadlineExceeded'],
    ['True', 'ProgressDeadlineExceeded'],
  ],
  ['pods say why: the reason is theirs', { workloads: [withProblems(sts(2, 0), probeFailing)] }, ['False', 'ReadinessProbeFailing'], ['True', 'RollingOut'], ['False', 'AsExpected']],
  [
    'pods say why, past the deadline',
    { workloads: [withProblems(sts(2, 0), ['ContainerCrashing', 'container macmanager keeps exiting (last exit code 1)'])], notReadySince: new Date('2026-01-01T00:30:00Z') },
    ['False', 'ContainerCrashing'],
    ['False', 'ProgressDeadlineExceeded'],
    ['True', 'ProgressDeadlineExceeded'],
  ],
  ['problems of a ready workload do not count', { workloads: [withProblems(sts(2, 2), probeFailing)] }, ['True', 'ReplicasReady'], ['False', 'RolloutComplete'], ['False', 'AsExpected']],
  ['a server refused part of its config', { configRejected: 'pool-macd-0: ranges[0] (r0): not served', workloads: [sts(3, 3)] }, ['False', 'ConfigRejected'], ['False', 'ConfigRejected'], ['True', 'ConfigRejected']],
  ['a refused config wins over a rollout', { configRejected: 'pool-macd-0: config: invalid', workloads: [sts(3, 1)] }, ['False', 'ConfigRejected'], ['False', 'ConfigRejected'], ['True', 'ConfigRejected']],
  ['pods ready, a server not yet on the current generation', { configPending: 'waiting for pool-macd-1', workloads: [sts(3, 3)] }, ['True', 'ReplicasReady'], ['True', 'ApplyingConfig'], ['False', 'AsExpected']],
  ['rolling out with the config pending too', { configPending: 'waiting for pool-macd-1', workloads: [sts(3, 1)] }, ['False', 'ReplicasNotReady'], ['True', 'RollingOut'], ['False', 'AsExpected']],
  [
    'a server not on the current generation within the deadline',
    { configPending: 'waiting for pool-macd-1', workloads: [sts(3, 3)], lastProgressing: progressing('True', 'ApplyingConfig', '2026-01-01T00:55:00Z') },
    ['True', 'ReplicasReady'],
    ['True', 'ApplyingConfig'],
    ['False', 'AsExpected'],
  ],
  [
    'a server not on the current generation past the deadline: Degraded, still Ready',
    { configPending: 'waiting for pool-macd-1', workloads: [sts(3, 3)], lastProgressing: progressing('True', 'ApplyingConfig', '2026-01-01T00:30:00Z') },
    ['True', 'ReplicasReady'],
    ['False', 'ProgressDeadlineExceeded'],
    ['True', 'ProgressDeadlineExceeded'],
  ],
  [
    'the deadline counts from when Progressing turned True, through the rollout',
    { configPending: 'waiting for pool-macd-1', workloads: [sts(3, 3)], lastProgressing: progressing('True', 'RollingOut', '2026-01-01T00:30:00Z') },
    ['True', 'ReplicasReady'],
    ['False', 'ProgressDeadlineExceeded'],
    ['True', 'ProgressDeadlineExceeded'],
  ],
  [
    'past the deadline stays past at the same generation (no flapping back to Progressing)',
    { configPending: 'waiting for pool-macd-1', workloads: [sts(3, 3)], lastProgressing: progressing('False', 'ProgressDeadlineExceeded', '2026-01-01T00:59:00Z') },
    ['True', 'ReplicasReady'],
    ['False', 'ProgressDeadlineExceeded'],
    ['True', 'ProgressDeadlineExceeded'],
  ],
  [
    'a new generation after the deadline starts a new clock',
    { configPending: 'waiting for pool-macd-1', workloads: [sts(3, 3)], lastProgressing: progressing('False', 'ProgressDeadlineExceeded', '2026-01-01T00:00:00Z', 2) },
    ['True', 'ReplicasReady'],
    ['True', 'ApplyingConfig'],
    ['False', 'AsExpected'],
  ],
  [
    'a completed rollout long ago does not count toward the deadline',
    { configPending: 'waiting for pool-macd-1', workloads: [sts(3, 3)], lastProgressing: progressing('False', 'RolloutComplete', '2026-01-01T00:00:00Z') },
    ['True', 'ReplicasReady'],
    ['True', 'ApplyingConfig'],
    ['False', 'AsExpected'],
  ],
  [
    'the late server reports at last: the rollout completes',
    { workloads: [sts(3, 3)], lastProgressing: progressing('False', 'ProgressDeadlineExceeded', '2026-01-01T00:59:00Z') },
    ['True', 'ReplicasReady'],
    ['False', 'RolloutComplete'],
    ['False', 'AsExpected'],
  ],
  [
    'a refused config outranks the config deadline',
    { configRejected: 'pool-macd-0: config: invalid', configPending: 'waiting for pool-macd-1', workloads: [sts(3, 3)], lastProgressing: progressing('True', 'ApplyingConfig', '2026-01-01T00:30:00Z') },
    ['False', 'ConfigRejected'],
    ['False', 'ConfigRejected'],
    ['True', 'ConfigRejected'],
  ],
  ['upgrading, one replica away: still Ready', { workloads: [upgrading(sts(3, 2, 1))] }, ['True', 'ReplicasReady'], ['True', 'Upgrading'], ['False', 'AsExpected']],
  ['upgrading with two replicas away: not Ready', { workloads: [upgrading(sts(3, 1, 1))] }, ['False', 'ReplicasNotReady'], ['True', 'Upgrading'], ['False', 'AsExpected']],
  ['upgrading a single replica while it is replaced: not Ready', { workloads: [upgrading(sts(1, 0, 0), { done: [], toGo: ['pool-macd-0'] })] }, ['False', 'ReplicasNotReady'], ['True', 'Upgrading'], ['False', 'AsExpected']],
  ['an upgrade outranks a config on its way', { configPending: 'waiting for pool-macd-1', workloads: [upgrading(sts(3, 2, 1))] }, ['True', 'ReplicasReady'], ['True', 'Upgrading'], ['False', 'AsExpected']],
  [
    'upgrading past the deadline: Degraded, Ready as the replicas are',
    { workloads: [upgrading(sts(3, 2, 1))], lastProgressing: progressing('True', 'Upgrading', '2026-01-01T00:30:00Z') },
    ['True', 'ReplicasReady'],
    ['False', 'ProgressDeadlineExceeded'],
    ['True', 'ProgressDeadlineExceeded'],
  ],
  [
    'an upgrade past the deadline stays past until it ends',
    { workloads: [upgrading(sts(3, 2, 1))], lastProgressing: progressing('False', 'ProgressDeadlineExceeded', '2026-01-01T00:59:00Z') },
    ['True', 'ReplicasReady'],
    ['False', 'ProgressDeadlineExceeded'],
    ['True', 'ProgressDeadlineExceeded'],
  ],
  [
    'a new replica that cannot read the old state: UpgradeBlocked, the others keep serving',
    { workloads: [upgrading(sts(3, 2, 1), { done: [], toGo: ['pool-macd-2', 'pool-macd-1', 'pool-macd-0'], blocked: 'pool-macd-2: data directory format 2 is newer than this macd reads (1)' })] },
    ['True', 'ReplicasReady'],
    ['False', 'UpgradeBlocked'],
    ['True', 'UpgradeBlocked'],
  ],
  [
    'a blocked upgrade of a single replica: nothing serves',
    { workloads: [upgrading(sts(1, 0, 0), { done: [], toGo: ['pool-macd-0'], blocked: 'pool-macd-0: data directory format 2' })] },
    ['False', 'UpgradeBlocked'],
    ['False', 'UpgradeBlocked'],
    ['True', 'UpgradeBlocked'],
  ],
  ['a blocked upgrade outranks a refused config (which it repeats)', { configRejected: 'x', workloads: [upgrading(sts(3, 2, 1), { blocked: 'pool-macd-2: y' })] }, ['True', 'ReplicasReady'], ['False', 'UpgradeBlocked'], ['True', 'UpgradeBlocked']],
  ['a server that cannot read its state outside a roll (a rollback too far)', { blocked: 'pool-macd-0: data directory format 2', workloads: [sts(3, 2)] }, ['True', 'ReplicasReady'], ['False', 'UpgradeBlocked'], ['True', 'UpgradeBlocked']],
];

describe('computeConditions', () => {
  it('puts what the pods say in the Ready message, without counts', () => {
    const ready = computeConditions({ ...base, workloads: [withProblems(sts(2, 1), probeFailing, ['ImagePullFailing', 'image x of container y cannot be pulled (ImagePullBackOff)'])] }).find((c) => c.type === 'Ready')!;
    expect(ready.message).toBe(
      'StatefulSet pool-macd: pods not ready: readiness probe GET /actuator/health on port http failing (container macmanager); image x of container y cannot be pulled (ImagePullBackOff)',
    );
    expect(computeConditions({ ...base, workloads: [sts(2, 1)] }).find((c) => c.type === 'Ready')!.message).toBe('StatefulSet pool-macd is not ready yet');
  });

  it('Degraded and Ready carry the server\'s words when it refused its config', () => {
    const words = 'pool-macd-0: ranges[0] (huge): not served: it holds 1099511627776 addresses; at most 16777216 per range';
    const got = computeConditions({ ...base, configRejected: words, workloads: [sts(1, 1)] });
    expect(got.find((c) => c.type === 'Degraded')?.message).toBe(words);
    expect(got.find((c) => c.type === 'Ready')?.message).toBe(words);
  });

  it('an upgrade says what runs where: from which image to which, done and to go', () => {
    const got = computeConditions({ ...base, workloads: [upgrading(sts(3, 2, 1))] });
    expect(got.find((c) => c.type === 'Progressing')?.message).toBe(
      'StatefulSet pool-macd: upgrading from alcor-operator:0.1.0 to alcor-operator:0.3.0, one replica at a time; done: pool-macd-2; to go: pool-macd-1, pool-macd-0',
    );
    const restart = computeConditions({ ...base, workloads: [upgrading(sts(3, 2, 1), { from: ['alcor-operator:0.3.0'] })] });
    expect(restart.find((c) => c.type === 'Progressing')?.message).toMatch(/^StatefulSet pool-macd: rolling its replicas \(alcor-operator:0.3.0\), one replica at a time/);
    const blocked = computeConditions({ ...base, workloads: [upgrading(sts(3, 2, 1), { blocked: 'pool-macd-2: data directory format 2' })] });
    expect(blocked.find((c) => c.type === 'Degraded')?.message).toBe(
      'StatefulSet pool-macd: the upgrade to alcor-operator:0.3.0 is stopped at pool-macd-2: data directory format 2; the replicas not yet replaced keep serving',
    );
  });

  it('a config past its deadline says which generation and who is behind', () => {
    const got = computeConditions({ ...base, configPending: 'waiting for pool-macd-1 to report serving generation 3', workloads: [sts(2, 2)], lastProgressing: progressing('True', 'ApplyingConfig', '2026-01-01T00:30:00Z') });
    expect(got.find((c) => c.type === 'Degraded')?.message).toBe('config generation 3 not applied by every server within 600s: waiting for pool-macd-1 to report serving generation 3');
    expect(got.find((c) => c.type === 'Progressing')?.message).toBe('waiting for pool-macd-1 to report serving generation 3');
  });

  for (const [name, obs, ready, progressing, degraded] of table) {
    it(name, () => {
      const got = computeConditions({ ...base, ...obs });
      const pick = (type: string) => {
        const c = got.find((x) => x.type === type)!;
        return [c.status, c.reason];
      };
      expect(pick('Ready')).toEqual(ready);
      expect(pick('Progressing')).toEqual(progressing);
      expect(pick('Degraded')).toEqual(degraded);
      expect(got.every((c) => c.observedGeneration === 3)).toBe(true);
      expect(got.every((c) => /^[A-Z][A-Za-z]*$/.test(c.reason))).toBe(true);
    });
  }
});
