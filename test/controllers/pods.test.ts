import { describe, expect, it } from 'vitest';
import { podProblem, podProblems, podSummary, podWorkload, selectedPods, VOLUME_BINDING_GRACE_SECONDS, type PodLike } from '../../src/controllers/pods.ts';
import type { KubeObject } from '../../src/runtime/client.ts';
import { workloadState } from '../../src/controllers/workload.ts';

// Why a pod is not ready, from its status as the API server returns it: one
// row per case, built from the fields the kubelet really sets.

const now = new Date('2026-01-01T01:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString();
const health = { httpGet: { path: '/actuator/health', port: 'http' }, periodSeconds: 5, failureThreshold: 3 };
const spec = { containers: [{ name: 'macmanager', image: 'mac_manager:v1.0', startupProbe: { ...health, failureThreshold: 60 }, readinessProbe: health }] };

const unboundClaims = '0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.';

type Status = NonNullable<NonNullable<PodLike['status']>['containerStatuses']>[number];
const pod = (c: Partial<Status>, extra: Partial<NonNullable<PodLike['status']>> = {}): PodLike => ({
  metadata: { name: 'p-1' },
  spec,
  status: { phase: 'Running', containerStatuses: [{ name: 'macmanager', ready: false, restartCount: 0, ...c }], ...extra },
});

const table: [string, PodLike, [string, string] | undefined][] = [
  ['ready', pod({ ready: true, started: true, state: { running: { startedAt: ago(600) } } }), undefined],
  ['container being created', pod({ state: { waiting: { reason: 'ContainerCreating' } } }), undefined],
  ['JVM still starting, within the startup probe budget', pod({ started: false, state: { running: { startedAt: ago(40) } } }), undefined],
  [
    'startup probe never passed within its budget (60 x 5 s)',
    pod({ started: false, state: { running: { startedAt: ago(400) } } }),
    ['StartupProbeFailing', 'startup probe GET /actuator/health on port http failing (container macmanager)'],
  ],
  [
    'started, then readiness failing (the DPM up without its port, Ignite gone)',
    pod({ started: true, state: { running: { startedAt: ago(300) } } }),
    ['ReadinessProbeFailing', 'readiness probe GET /actuator/health on port http failing (container macmanager)'],
  ],
  ['started a moment ago: readiness not probed yet', pod({ started: true, state: { running: { startedAt: ago(5) } } }), undefined],
  [
    'image cannot be pulled',
    pod({ state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } }),
    ['ImagePullFailing', 'image mac_manager:v1.0 of container macmanager cannot be pulled (ImagePullBackOff)'],
  ],
  [
    'exits at start (IgniteClient is null) and backs off',
    pod({ restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }),
    ['ContainerCrashing', 'container macmanager keeps exiting (last exit code 1, Error)'],
  ],
  [
    'a missing ConfigMap',
    pod({ state: { waiting: { reason: 'CreateContainerConfigError', message: 'configmap "x" not found' } } }),
    ['ContainerCreateFailing', 'container macmanager cannot be created (CreateContainerConfigError: configmap "x" not found)'],
  ],
  [
    'unschedulable',
    { metadata: { name: 'p-1' }, spec, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.' }] } },
    ['PodUnschedulable', 'pod cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory.'],
  ],
  [
    'waiting for its volume claims to be bound: a pod on its way',
    { metadata: { name: 'p-1', creationTimestamp: ago(20) }, spec, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: unboundClaims }] } },
    undefined,
  ],
  [
    'still waiting for its volume claims past the grace',
    { metadata: { name: 'p-1', creationTimestamp: ago(VOLUME_BINDING_GRACE_SECONDS + 1) }, spec, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: unboundClaims }] } },
    ['PodUnschedulable', `pod cannot be scheduled: ${unboundClaims}`],
  ],
  ['being deleted', { ...pod({ state: { waiting: { reason: 'CrashLoopBackOff' } } }), metadata: { name: 'p-1', deletionTimestamp: ago(1) } }, undefined],
];

describe('podProblem', () => {
  for (const [name, p, want] of table) {
    it(name, () => {
      const got = podProblem(p, now);
      expect(got ? [got.reason, got.message] : undefined).toEqual(want);
      if (got) expect(got.reason).toMatch(/^[A-Z][A-Za-z]*$/);
      // The operator's cache keeps only a pod's summary: the same answer from it.
      const summary = podSummary({ apiVersion: 'v1', kind: 'Pod', ...p } as KubeObject) as KubeObject & PodLike;
      const fromSummary = podProblem(summary, now);
      expect(fromSummary ? [fromSummary.reason, fromSummary.message] : undefined).toEqual(want);
    });
  }
});

describe('podSummary', () => {
  it('keeps what the operator reads and drops the rest', () => {
    const full = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p-0', namespace: 'a', uid: 'u', resourceVersion: '7', labels: { app: 'x' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'p', uid: 's', controller: true }], creationTimestamp: ago(5), annotations: { big: 'x'.repeat(1000) } },
      spec: { ...spec, volumes: [{ name: 'data' }], nodeName: 'n' },
      status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null }], containerStatuses: [{ name: 'macmanager', ready: true, restartCount: 0, imageID: 'sha', containerID: 'c' }] },
    } as unknown as KubeObject;
    const s = podSummary(full) as KubeObject & PodLike;
    expect(podWorkload(s)).toEqual(podWorkload(full));
    expect(s.metadata.annotations).toBeUndefined();
    expect(s.metadata.labels).toEqual({ app: 'x' });
    expect(JSON.stringify(s).length).toBeLessThan(JSON.stringify(full).length / 2);
    expect(s['status']).toEqual({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'macmanager', ready: true, restartCount: 0 }] });
  });
});

describe('podProblems', () => {
  it('one line per distinct problem, in a stable order', () => {
    const failing = pod({ started: true, state: { running: { startedAt: ago(300) } } });
    const crashing = pod({ restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } });
    const a = podProblems([failing, crashing, failing], now);
    expect(a.map((p) => p.reason)).toEqual(['ContainerCrashing', 'ReadinessProbeFailing']);
    expect(podProblems([crashing, failing], now)).toEqual(a);
  });
});

describe('selectedPods and workloads', () => {
  it("a workload's pods: same namespace, every selector label", () => {
    const w = { metadata: { namespace: 'a' }, spec: { selector: { matchLabels: { app: 'x', instance: 'i' } } } };
    const p = (namespace: string, labels: Record<string, string>) => ({ metadata: { name: `${namespace}-${Object.values(labels).join('-')}`, namespace, labels } });
    const pods = [p('a', { app: 'x', instance: 'i', extra: '1' }), p('b', { app: 'x', instance: 'i' }), p('a', { app: 'x' })];
    expect(selectedPods(w, pods).map((x) => x.metadata.name)).toEqual(['a-x-i-1']);
    expect(selectedPods({ metadata: { namespace: 'a' }, spec: {} }, pods)).toEqual([]);
  });

  it("a Deployment's ReplicaFailure is a problem of its own", () => {
    const d = workloadState({
      kind: 'Deployment',
      metadata: { name: 'dpm', generation: 1 },
      spec: { replicas: 2 },
      status: { observedGeneration: 1, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "dpm-1" is forbidden: error looking up service account a/dpm' }] },
    });
    expect(d.problems).toEqual([{ reason: 'ReplicaFailure', message: 'pods cannot be created: pods "dpm-1" is forbidden: error looking up service account a/dpm' }]);
  });
});

describe('podWorkload', () => {
  const owned = (kind: string, name: string, labels: Record<string, string> = {}) => ({ metadata: { namespace: 'a', labels, ownerReferences: [{ kind, name, controller: true }] } });
  it("a StatefulSet's or DaemonSet's pod names it", () => {
    expect(podWorkload(owned('StatefulSet', 'pool-macd'))).toEqual({ kind: 'StatefulSet', key: 'a/pool-macd' });
    expect(podWorkload(owned('DaemonSet', 'net-dhcpd'))).toEqual({ kind: 'DaemonSet', key: 'a/net-dhcpd' });
  });
  it("a Deployment's pod names its ReplicaSet, the Deployment's name and the template hash", () => {
    expect(podWorkload(owned('ReplicaSet', 'dpm-7d9f8c6b5', { 'pod-template-hash': '7d9f8c6b5' }))).toEqual({ kind: 'Deployment', key: 'a/dpm' });
    expect(podWorkload(owned('ReplicaSet', 'dpm-7d9f8c6b5'))).toBeUndefined();
  });
  it('no controller reference: none', () => {
    expect(podWorkload({ metadata: { namespace: 'a', ownerReferences: [{ kind: 'StatefulSet', name: 'x' }] } })).toBeUndefined();
    expect(podWorkload({ metadata: {} })).toBeUndefined();
  });
});
