// The exact API actions one reconcile pass makes, cert-manager style: a fake
// client records every request (applies, deletes, status writes, events) and
// each case names the world before the pass and the actions it expects.

import { describe, expect, it } from 'vitest';
import type { MacPool } from '../../src/api/index.ts';
import { macPoolKind } from '../../src/controllers/macpool.ts';
import { reconcileKind, type ReconcileContext } from '../../src/controllers/reconcile.ts';
import { childTypes, MacPoolType, PodType } from '../../src/controllers/resources.ts';
import { defaultRenderSettings, renderMacPool } from '../../src/render/index.ts';
import type { KubeObject } from '../../src/runtime/client.ts';
import { EventRecorder } from '../../src/runtime/events.ts';
import { MAC_POOL_LABEL, SERVED_ANNOTATION, reportText } from '../../src/api/leases.ts';
import { quietLog } from '../macd/helpers.ts';
import { macPoolExample, NAMESPACE, UID } from '../render/fixtures.ts';
import { FakeClient, status } from './fake-client.ts';

const now = new Date('2026-03-01T12:00:00Z');
const pool: MacPool = macPoolExample();
const key = `${NAMESPACE}/${pool.metadata.name}`;
const rendered = renderMacPool(pool, defaultRenderSettings);
const pluralOf = (kind: string): string => childTypes[kind]!.plural;
const child = (kind: string): KubeObject => rendered.find((o) => o.kind === kind)!;
/** The actions of a first pass: every rendered child applied, in render order. */
const applyAll = rendered.map((o) => `apply ${pluralOf(o.kind)} ${NAMESPACE}/${o.metadata.name}`);
const statusWrite = `apply macpools/status ${key}`;
const GRACE = 30;
const TERMINATING = `configmaps "x" is forbidden: unable to create new content in namespace ${NAMESPACE} because it is being terminated`;

function world() {
  let clock = now;
  const client = new FakeClient({ now: () => clock });
  client.put('macpools', pool as unknown as KubeObject);
  const leases: KubeObject[] = [];
  const informers = new Map([
    ['MacPool', client.cache(MacPoolType)],
    ['Pod', client.cache(PodType)],
    ...Object.entries(childTypes).map(([kind, type]) => [kind, client.cache(type)] as const),
  ]);
  const ctx: ReconcileContext = {
    client,
    informers,
    leases: () => leases,
    recorder: new EventRecorder(client, 'alcor-operator', quietLog),
    settings: defaultRenderSettings,
    now: () => clock,
    progressDeadlineSeconds: 600,
    notReadyRequeueMs: 5000,
    firstStatusGraceSeconds: GRACE,
  };
  const pass = () => reconcileKind(macPoolKind, ctx, key, quietLog);
  const advance = (seconds: number): void => {
    clock = new Date(clock.getTime() + seconds * 1000);
  };
  /** What the workload controllers do: every replica ready and up to date. */
  const rollOut = (): void => {
    for (const [k, obj] of client.store) {
      if (!['StatefulSet', 'Deployment', 'DaemonSet'].includes(obj.kind)) continue;
      const n = (obj['spec'] as { replicas?: number }).replicas ?? 1;
      client.store.set(k, { ...obj, status: { observedGeneration: 1, replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n } });
    }
  };
  /** Children created, rolled out, status Ready: the steady state. Its actions are cleared. */
  const settle = async (): Promise<void> => {
    await pass();
    rollOut();
    await pass();
    client.actions.length = 0;
  };
  const edit = (kind: string, name: string, change: (o: KubeObject) => KubeObject): void => {
    const k = `${pluralOf(kind)}/${NAMESPACE}/${name}`;
    client.store.set(k, change(structuredClone(client.store.get(k)!)));
  };
  /** A pod of the StatefulSet that the scheduler cannot place. */
  const unschedulablePod = (message: string): void => {
    const sts = child('StatefulSet') as KubeObject & { spec: { selector: { matchLabels: Record<string, string> } } };
    client.put('pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${sts.metadata.name}-0`,
        namespace: NAMESPACE,
        labels: sts.spec.selector.matchLabels,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.metadata.name, uid: 'sts-uid', controller: true }],
        creationTimestamp: clock.toISOString(),
      },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] },
    });
  };
  return { client, leases, pass, rollOut, settle, edit, advance, unschedulablePod };
}

type World = ReturnType<typeof world>;

interface Case {
  /** The world before the pass. */
  given: (w: World) => Promise<void> | void;
  expected: string[];
  /** The pass fails with this (it is retried with backoff). */
  fails?: RegExp;
  /** What the pass returns, when the case is about it (undefined: done, no requeue). */
  returns?: { value: unknown };
}

const cases: Record<string, Case> = {
  'a new MacPool: every child applied, no status while its workload rolls out (looked at again soon)': {
    given: () => {},
    expected: applyAll,
    returns: { value: { requeueAfterMs: 5000 } },
  },
  'a new MacPool whose rollout finished: its first status, Ready, and no event': {
    given: async (w) => {
      await w.pass();
      w.rollOut();
    },
    expected: [statusWrite],
  },
  'a new MacPool still rolling out past the grace: its first status, not Ready, and no event': {
    given: async (w) => {
      await w.pass();
      w.advance(GRACE + 1);
    },
    expected: [statusWrite],
    returns: { value: { requeueAfterMs: 5000 } },
  },
  'a new MacPool near the end of the grace: looked at again when it ends': {
    given: async (w) => {
      await w.pass();
      w.advance(GRACE - 2);
    },
    expected: [],
    returns: { value: { requeueAfterMs: 2000 } },
  },
  'a new MacPool whose pod cannot be scheduled: its first status at once, with the reason': {
    given: async (w) => {
      await w.pass();
      w.unschedulablePod('0/2 nodes are available: 2 Insufficient memory.');
    },
    expected: [statusWrite],
    returns: { value: { requeueAfterMs: 5000 } },
  },
  'a new MacPool whose pod waits for its volume claims: still on its way, no status': {
    given: async (w) => {
      await w.pass();
      w.unschedulablePod('0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.');
    },
    expected: [],
    returns: { value: { requeueAfterMs: 5000 } },
  },
  'a new MacPool whose pod waits for its volume claims past the progress deadline: its first status Degraded, one Warning event': {
    given: async (w) => {
      await w.pass();
      w.unschedulablePod('0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.');
      w.advance(601);
    },
    expected: [statusWrite, 'event Warning ProgressDeadlineExceeded'],
    returns: { value: { requeueAfterMs: 5000 } },
  },
  'the rollout finished after a not-Ready status was written: status Ready, one Normal event': {
    given: async (w) => {
      await w.pass();
      w.advance(GRACE + 1);
      await w.pass();
      w.rollOut();
    },
    expected: [statusWrite, 'event Normal ReplicasReady'],
  },
  'a Ready MacPool whose replicas go away: status not Ready at once, one Warning event': {
    given: async (w) => {
      await w.settle();
      w.edit('StatefulSet', child('StatefulSet').metadata.name, (o) => ({ ...o, status: { ...(o['status'] as object), readyReplicas: 0 } }));
    },
    expected: [statusWrite, 'event Warning ReplicasNotReady'],
    returns: { value: { requeueAfterMs: 5000 } },
  },
  'unchanged children and status: no action at all': {
    given: (w) => w.settle(),
    expected: [],
  },
  'a hand-edited child: that child applied back, nothing else': {
    given: async (w) => {
      await w.settle();
      const cm = child('ConfigMap');
      w.edit('ConfigMap', cm.metadata.name, (o) => ({ ...o, data: { ...(o['data'] as object), 'config.yaml': 'edited: by hand\n' } }));
    },
    expected: [`apply configmaps ${NAMESPACE}/${child('ConfigMap').metadata.name}`],
  },
  'a child someone else controls, carrying our labels: never pruned': {
    given: async (w) => {
      await w.settle();
      const labels = child('ConfigMap').metadata.labels;
      w.client.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'theirs', namespace: NAMESPACE, labels, ownerReferences: [{ apiVersion: 'v1', kind: 'Other', name: 'x', uid: 'another-uid', controller: true }] } });
      w.client.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'co-owned', namespace: NAMESPACE, labels, ownerReferences: [{ apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', name: pool.metadata.name, uid: UID }] } });
    },
    expected: [],
  },
  'a child we control that render no longer produces: deleted': {
    given: async (w) => {
      await w.settle();
      w.client.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stale', namespace: NAMESPACE, ownerReferences: [{ apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', name: pool.metadata.name, uid: UID, controller: true }] } });
    },
    expected: [`delete configmaps ${NAMESPACE}/stale propagationPolicy=Background`],
  },
  'a 422 on a list key (a Service port edited): orphan-delete, a Warning event, then apply': {
    given: async (w) => {
      await w.settle();
      const svc = child('Service').metadata.name;
      w.edit('Service', svc, (o) => {
        const spec = o['spec'] as { ports: { port: number }[] };
        spec.ports[0]!.port = 1234;
        return o;
      });
      let refused = false;
      w.client.react((a) => {
        if (refused || a.verb !== 'apply' || a.resource !== 'services') return undefined;
        refused = true;
        return status(422, 'Invalid', `Service "${svc}" is invalid: spec.ports[1].name: Duplicate value: "http"`);
      });
    },
    expected: [
      `apply services ${NAMESPACE}/${child('Service').metadata.name}`,
      `delete services ${NAMESPACE}/${child('Service').metadata.name} propagationPolicy=Orphan`,
      'event Warning ChildRecreated',
      `apply services ${NAMESPACE}/${child('Service').metadata.name}`,
    ],
  },
  'a 403 because the namespace is terminating: the applies tried, then nothing (no status, no event, no retry)': {
    given: (w) => w.client.react((a) => (a.verb === 'apply' && !a.resource.endsWith('/status') ? status(403, 'Forbidden', TERMINATING) : undefined)),
    expected: applyAll,
    returns: { value: undefined },
  },
  'a 403 from RBAC: status says ApplyFailed, a Warning event, and the pass fails': {
    given: (w) => w.client.react((a) => (a.verb === 'apply' && a.resource === 'statefulsets' ? status(403, 'Forbidden', 'statefulsets.apps is forbidden: User "x" cannot patch resource "statefulsets"') : undefined)),
    expected: [...applyAll, statusWrite, 'event Warning ApplyFailed'],
    fails: /cannot patch resource "statefulsets"/,
  },
  'a new report on a replica\'s Lease: the status written, nothing else': {
    given: async (w) => {
      await w.settle();
      const report = reportText({ generation: 1, refused: [], capacity: 1000, allocated: 7 });
      w.leases.push({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'tenant-macs-macd-0', namespace: NAMESPACE, labels: { [MAC_POOL_LABEL]: pool.metadata.name }, annotations: { [SERVED_ANNOTATION]: report } } });
    },
    expected: [statusWrite],
  },
  'pods ready, no replica has reported yet: nothing written, the pass comes back once the config deadline has passed': {
    given: async (w) => {
      await w.settle();
      w.advance(100);
    },
    expected: [],
    returns: { value: { requeueAfterMs: 501_000 } },
  },
  'a replica that never reports, past the deadline: Degraded/ProgressDeadlineExceeded, a Warning event, no more requeue': {
    given: async (w) => {
      await w.settle();
      w.advance(601);
    },
    expected: [statusWrite, 'event Warning ProgressDeadlineExceeded'],
    returns: { value: undefined },
  },
  'a replica refusing part of its config: status written with Degraded/ConfigRejected, and a Warning event': {
    given: async (w) => {
      await w.settle();
      const report = reportText({ generation: 1, refused: ['ranges[0] (range0): not served: why'], capacity: 0, allocated: 0 });
      w.leases.push({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'tenant-macs-macd-0', namespace: NAMESPACE, labels: { [MAC_POOL_LABEL]: pool.metadata.name }, annotations: { [SERVED_ANNOTATION]: report } } });
    },
    expected: [statusWrite, 'event Warning ConfigRejected', 'event Warning ConfigRejected'],
    returns: { value: { requeueAfterMs: 5000 } },
  },
};

describe('reconcile: the exact API actions of one pass', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const w = world();
      await c.given(w);
      w.client.actions.length = 0;
      const result = w.pass();
      if (c.fails) await expect(result).rejects.toThrow(c.fails);
      else if (c.returns) expect(await result).toEqual(c.returns.value);
      else await result;
      expect(w.client.described()).toEqual(c.expected);
    });
  }

  it('the status written for a report carries it, and a second pass writes nothing', async () => {
    const w = world();
    await cases['a new report on a replica\'s Lease: the status written, nothing else']!.given(w);
    w.client.actions.length = 0;
    await w.pass();
    expect(w.client.actions[0]?.body?.['status']).toMatchObject({ capacity: 1000, allocated: 7, available: 993 });
    w.client.actions.length = 0;
    await w.pass();
    expect(w.client.described()).toEqual([]);
  });
});
