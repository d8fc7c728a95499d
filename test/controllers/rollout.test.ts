// The roll of a workload to a new pod template, as the operator drives it
// (src/controllers/rollout.ts): the partition it applies with a StatefulSet,
// step by step, and what it says is rolling, from what to what, and what
// blocks it. Pure: objects as the API server returns them, tables of cases.

import { describe, expect, it } from 'vitest';
import { readyServes, statefulSetPartition, workloadUpgrade, type CachedPod, type ReplicaGate } from '../../src/controllers/rollout.ts';
import type { KubeObject } from '../../src/runtime/client.ts';

const now = new Date('2026-06-01T12:00:00Z');
const OLD = 'alcor-operator:0.1.0';
const NEW = 'alcor-operator:0.3.0';

function template(image: string) {
  return { metadata: { labels: { app: 'macd' } }, spec: { containers: [{ name: 'macd', image }] } };
}

function sts(opts: { image?: string; replicas?: number; partition?: number; generation?: number; observed?: number; current?: string; update?: string } = {}): KubeObject {
  const generation = opts.generation ?? 2;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'pool-macd', namespace: 'ns', generation },
    spec: {
      replicas: opts.replicas ?? 3,
      selector: { matchLabels: { app: 'macd' } },
      template: template(opts.image ?? NEW),
      ...(opts.partition !== undefined ? { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: opts.partition } } } : {}),
    },
    status: { observedGeneration: opts.observed ?? generation, currentRevision: opts.current ?? 'rev-old', updateRevision: opts.update ?? 'rev-new' },
  };
}

function pod(ordinal: number, revision: string, opts: { ready?: boolean; uid?: string; deleting?: boolean; crashing?: boolean } = {}): CachedPod {
  const ready = opts.ready ?? !opts.crashing;
  return {
    metadata: {
      name: `pool-macd-${ordinal}`,
      namespace: 'ns',
      uid: opts.uid ?? `uid-${ordinal}-${revision}`,
      labels: { app: 'macd', 'controller-revision-hash': revision },
      creationTimestamp: '2026-06-01T11:00:00Z',
      ...(opts.deleting ? { deletionTimestamp: '2026-06-01T11:59:00Z' } : {}),
    },
    spec: { containers: [{ name: 'macd', image: revision === 'rev-new' ? NEW : OLD }] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: [
        opts.crashing
          ? { name: 'macd', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } }
          : { name: 'macd', ready, restartCount: 0, state: { running: { startedAt: '2026-06-01T11:59:50Z' } } },
      ],
    },
  };
}

const desired = (image = NEW, replicas = 3) => sts({ image, replicas });
const oldPods = [pod(0, 'rev-old'), pod(1, 'rev-old'), pod(2, 'rev-old')];

describe('statefulSetPartition', () => {
  const cases: [string, { current: KubeObject | undefined; pods: CachedPod[]; gate?: ReplicaGate }, number][] = [
    ['a new StatefulSet: nothing to hold back', { current: undefined, pods: [] }, 0],
    ['steady state: 0', { current: sts({ image: NEW, current: 'rev-new', update: 'rev-new', partition: 0 }), pods: [pod(0, 'rev-new'), pod(1, 'rev-new'), pod(2, 'rev-new')] }, 0],
    ['a new template for a running StatefulSet: all but the top replica held back', { current: sts({ image: OLD, current: 'rev-old', update: 'rev-old' }), pods: oldPods }, 2],
    ['our new template not yet seen by its controller: the partition we asked stays', { current: sts({ partition: 2, generation: 3, observed: 2, current: 'rev-old', update: 'rev-old' }), pods: oldPods }, 2],
    ['the top replica being replaced: held', { current: sts({ partition: 2 }), pods: [pod(0, 'rev-old'), pod(1, 'rev-old')] }, 2],
    ['the top replica new but not ready: held', { current: sts({ partition: 2 }), pods: [pod(0, 'rev-old'), pod(1, 'rev-old'), pod(2, 'rev-new', { ready: false })] }, 2],
    ['the top replica new and serving: the next one released', { current: sts({ partition: 2 }), pods: [pod(0, 'rev-old'), pod(1, 'rev-old'), pod(2, 'rev-new')] }, 1],
    [
      'the top replica ready, its report still from the pod it replaced: held',
      { current: sts({ partition: 2 }), pods: [pod(0, 'rev-old'), pod(1, 'rev-old'), pod(2, 'rev-new')], gate: () => ({ state: 'starting' }) },
      2,
    ],
    [
      'the top replica cannot read the old state: held there, the others keep serving',
      { current: sts({ partition: 2 }), pods: [pod(0, 'rev-old'), pod(1, 'rev-old'), pod(2, 'rev-new', { ready: false })], gate: () => ({ state: 'blocked', message: 'data format 2' }) },
      2,
    ],
    ['two replicas done: the last released', { current: sts({ partition: 1 }), pods: [pod(0, 'rev-old'), pod(1, 'rev-new'), pod(2, 'rev-new')] }, 0],
    ['all replicas new, the controller not done yet: 0', { current: sts({ partition: 0 }), pods: [pod(0, 'rev-new'), pod(1, 'rev-new'), pod(2, 'rev-new')] }, 0],
    [
      'kubectl rollout restart (partition 0, the controller already replacing the top): held from there on',
      { current: sts({ partition: 0 }), pods: [pod(0, 'rev-old'), pod(1, 'rev-old'), pod(2, 'rev-new', { deleting: false, ready: false })] },
      2,
    ],
    ['a terminating pod of the new revision does not count', { current: sts({ partition: 2 }), pods: [pod(0, 'rev-old'), pod(1, 'rev-old'), pod(2, 'rev-new', { deleting: true })] }, 2],
    ['one replica: rolled at once', { current: sts({ image: OLD, replicas: 1, current: 'rev-old', update: 'rev-old' }), pods: [pod(0, 'rev-old')] }, 0],
  ];
  for (const [name, c, partition] of cases) {
    it(name, () => {
      const replicas = ((c.current?.['spec'] as { replicas?: number } | undefined)?.replicas ?? 3) as number;
      expect(statefulSetPartition(desired(NEW, replicas), c.current, c.pods, c.gate ?? readyServes, now)).toBe(partition);
    });
  }

  it('the roll one step at a time: each replica serving before the next is released', () => {
    let current = sts({ image: OLD, current: 'rev-old', update: 'rev-old' });
    const pods = new Map(oldPods.map((p) => [p.metadata.name, p]));
    const seen: number[] = [];
    for (let step = 0; step < 6; step++) {
      const partition = statefulSetPartition(desired(), current, [...pods.values()], readyServes, now);
      seen.push(partition);
      // The StatefulSet controller: the new template, replicas at or above the partition replaced (one per step).
      current = sts({ partition, current: 'rev-old', update: 'rev-new' });
      const next = [2, 1, 0].find((i) => i >= partition && pods.get(`pool-macd-${i}`)!.metadata.labels!['controller-revision-hash'] !== 'rev-new');
      if (next === undefined) break;
      pods.set(`pool-macd-${next}`, pod(next, 'rev-new'));
    }
    expect(seen).toEqual([2, 1, 0, 0]);
  });
});

describe('workloadUpgrade', () => {
  it('a StatefulSet on one revision: nothing rolls', () => {
    expect(workloadUpgrade(sts({ current: 'rev-new', update: 'rev-new' }), [pod(0, 'rev-new')], readyServes, now)).toBeUndefined();
  });

  it('a StatefulSet between revisions: from the old pods\' image to the template\'s, done from the top ordinal', () => {
    const u = workloadUpgrade(sts({ partition: 1 }), [pod(0, 'rev-old'), pod(1, 'rev-old', { ready: false }), pod(2, 'rev-new')], readyServes, now);
    expect(u).toEqual({ kind: 'StatefulSet', name: 'pool-macd', from: [OLD], to: NEW, done: ['pool-macd-2'], toGo: ['pool-macd-1', 'pool-macd-0'] });
  });

  it('the last old replica on its way out still counts in what the roll is from', () => {
    const u = workloadUpgrade(sts({ partition: 0 }), [pod(0, 'rev-old', { deleting: true }), pod(1, 'rev-new'), pod(2, 'rev-new')], readyServes, now);
    expect(u).toMatchObject({ from: [OLD], to: NEW, done: ['pool-macd-2', 'pool-macd-1'], toGo: ['pool-macd-0'] });
  });

  it('a new replica that cannot read the state: blocked, in its words', () => {
    const gate: ReplicaGate = (p) => (p.metadata.name === 'pool-macd-2' ? { state: 'blocked', message: 'data directory format 2 is newer than this macd reads (1)' } : { state: 'serving' });
    const u = workloadUpgrade(sts({ partition: 2 }), [pod(0, 'rev-old'), pod(1, 'rev-old'), pod(2, 'rev-new', { ready: false })], gate, now);
    expect(u?.blocked).toBe('pool-macd-2: data directory format 2 is newer than this macd reads (1)');
  });

  it('a new replica that keeps crashing: blocked, with what its pod says', () => {
    const u = workloadUpgrade(sts({ partition: 2 }), [pod(0, 'rev-old'), pod(1, 'rev-old'), pod(2, 'rev-new', { crashing: true })], readyServes, now);
    expect(u?.blocked).toMatch(/^pool-macd-2: container macd keeps exiting/);
  });

  it('a new template not yet acted on by its controller: nothing rolls yet (its status speaks for the pods as they are)', () => {
    expect(workloadUpgrade(sts({ generation: 3, observed: 2, current: 'rev-old', update: 'rev-old' }), oldPods, readyServes, now)).toBeUndefined();
  });

  it('a partition step not yet acted on: the roll as last reported', () => {
    expect(workloadUpgrade(sts({ generation: 3, observed: 2, partition: 1 }), [pod(0, 'rev-old'), pod(1, 'rev-old'), pod(2, 'rev-new')], readyServes, now)?.done).toEqual(['pool-macd-2']);
  });

  const deployment = (image: string): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'dpm', namespace: 'ns', generation: 2 },
    spec: { replicas: 2, template: template(image) },
    status: { observedGeneration: 2 },
  });
  const dpmPod = (name: string, hash: string, image: string, created: string, opts: { ready?: boolean; crashing?: boolean } = {}): CachedPod => {
    const p = pod(0, 'x', opts);
    return { ...p, metadata: { ...p.metadata, name, labels: { 'pod-template-hash': hash }, creationTimestamp: created }, spec: { containers: [{ name: 'dpm', image }] } };
  };

  it('a Deployment with pods of two templates: the newest is what it rolls to', () => {
    const pods = [dpmPod('dpm-a-1', 'a', 'dpm:1', '2026-06-01T10:00:00Z'), dpmPod('dpm-a-2', 'a', 'dpm:1', '2026-06-01T10:00:00Z'), dpmPod('dpm-b-1', 'b', 'dpm:2', '2026-06-01T11:59:00Z', { ready: false })];
    expect(workloadUpgrade(deployment('dpm:2'), pods, readyServes, now)).toEqual({ kind: 'Deployment', name: 'dpm', from: ['dpm:1'], to: 'dpm:2', done: [], toGo: ['dpm-a-1', 'dpm-a-2', 'dpm-b-1'] });
  });

  it('a Deployment whose new pod keeps crashing: blocked, the old pods keep serving (maxUnavailable 0)', () => {
    const pods = [dpmPod('dpm-a-1', 'a', 'dpm:1', '2026-06-01T10:00:00Z'), dpmPod('dpm-b-1', 'b', 'dpm:2', '2026-06-01T11:59:00Z', { crashing: true })];
    expect(workloadUpgrade(deployment('dpm:2'), pods, readyServes, now)?.blocked).toMatch(/^dpm-b-1: container macd keeps exiting/);
  });

  it('a Deployment with one template: nothing rolls', () => {
    expect(workloadUpgrade(deployment('dpm:2'), [dpmPod('dpm-b-1', 'b', 'dpm:2', '2026-06-01T11:59:00Z')], readyServes, now)).toBeUndefined();
  });

  it('a DaemonSet with pods of an older template generation: rolling', () => {
    const ds: KubeObject = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'net-dhcpd', namespace: 'ns', generation: 4, annotations: { 'deprecated.daemonset.template.generation': '3' } }, spec: { template: template(NEW) }, status: { observedGeneration: 4 } };
    const node = (name: string, gen: string, image: string): CachedPod => {
      const p = pod(0, 'x');
      return { ...p, metadata: { ...p.metadata, name, labels: { 'pod-template-generation': gen } }, spec: { containers: [{ name: 'dhcpd', image }] } };
    };
    expect(workloadUpgrade(ds, [node('a', '2', OLD), node('b', '3', NEW)], readyServes, now)).toMatchObject({ from: [OLD], to: NEW, done: ['b'], toGo: ['a'] });
  });
});
