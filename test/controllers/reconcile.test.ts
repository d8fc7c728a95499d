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
import { LastWrites } from '../../src/runtime/last-writes.ts';
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
    lastWrites: new LastWrites(),
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
      client.store.set(k, { ...obj, status: { observedGeneration: obj.metadata.generation ?? 1, replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n, currentRevision: 'rev-1', updateRevision: 'rev-1' } });
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
  const setImage = (image: string): void => {
    ctx.settings = { ...ctx.settings, image };
  };
  return { client, leases, pass, rollOut, settle, edit, advance, unschedulablePod, setImage };
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

describe('reconcile: a cache that has not caught up with our own writes yet', () => {
  it('a child applied by the last pass, still shown as before by the cache: not applied again', async () => {
    const w = world();
    await w.settle();
    const name = child('ConfigMap').metadata.name;
    w.edit('ConfigMap', name, (o) => ({ ...o, data: { 'config.yaml': 'edited: by hand\n' } }));
    const stale = structuredClone(w.client.store.get(`configmaps/${NAMESPACE}/${name}`)!);
    await w.pass();
    expect(w.client.described()).toEqual([`apply configmaps ${NAMESPACE}/${name}`]);
    // The watch event of that apply has not arrived: the cache still shows the edited object.
    w.client.store.set(`configmaps/${NAMESPACE}/${name}`, stale);
    w.client.actions.length = 0;
    await w.pass();
    expect(w.client.described()).toEqual([]);
    // Someone else writes it again (a new resourceVersion): the cache speaks again, and it is applied back.
    w.edit('ConfigMap', name, (o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: 'theirs' }, data: { 'config.yaml': 'edited: again\n' } }));
    await w.pass();
    expect(w.client.described()).toEqual([`apply configmaps ${NAMESPACE}/${name}`]);
  });

  it('a status written by the last pass, not yet in the cache: not written again', async () => {
    const w = world();
    await w.settle();
    const stale = structuredClone(w.client.store.get(`macpools/${key}`)!);
    w.leases.push({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'tenant-macs-macd-0', namespace: NAMESPACE, labels: { [MAC_POOL_LABEL]: pool.metadata.name }, annotations: { [SERVED_ANNOTATION]: reportText({ generation: 1, refused: [], capacity: 1000, allocated: 7 }) } } });
    await w.pass();
    expect(w.client.described()).toEqual([statusWrite]);
    w.client.store.set(`macpools/${key}`, stale);
    w.client.actions.length = 0;
    await w.pass();
    expect(w.client.described()).toEqual([]);
  });
});

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

// An upgrade of the allocator's pods (a new release of the operator brings a
// new image): the StatefulSet applied with its new template and a partition,
// then one more replica released each time the last one replaced serves (its
// pod Ready, its report written by the new pod), Progressing/Upgrading while
// it rolls, and a new replica that cannot read the old state stops it there.
describe('reconcile: an upgrade rolls the allocator one replica at a time', () => {
  const sts = child('StatefulSet') as KubeObject & { spec: { replicas: number; selector: { matchLabels: Record<string, string> } } };
  const name = sts.metadata.name;
  const REPLICAS = sts.spec.replicas;
  const stsKey = `statefulsets/${NAMESPACE}/${name}`;
  const applySts = `apply statefulsets ${NAMESPACE}/${name}`;
  const NEW_IMAGE = 'alcor-operator:9.9.9';

  function upgradeWorld() {
    const w = world();
    const pods = new Map<number, { revision: string; ready: boolean; uid: string }>();
    const report = (i: number, extra: Record<string, unknown> = {}): void => {
      const at = w.leases.findIndex((l) => l.metadata.name === `${name}-${i}`);
      const text = reportText({ generation: 1, refused: [], capacity: 1000, allocated: 0, pod: pods.get(i)!.uid, ...extra });
      const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: `${name}-${i}`, namespace: NAMESPACE, labels: { [MAC_POOL_LABEL]: pool.metadata.name }, annotations: { [SERVED_ANNOTATION]: text } } };
      if (at >= 0) w.leases[at] = lease;
      else w.leases.push(lease);
    };
    /** The StatefulSet controller's view: status for its spec, and the pods as they stand. */
    const controller = (currentRevision: string, updateRevision: string): void => {
      const o = w.client.store.get(stsKey)!;
      const ready = [...pods.values()].filter((p) => p.ready).length;
      const updated = [...pods.values()].filter((p) => p.revision === updateRevision).length;
      w.client.store.set(stsKey, { ...o, status: { observedGeneration: o.metadata.generation, replicas: REPLICAS, readyReplicas: ready, updatedReplicas: updated, currentRevision, updateRevision } });
      for (const [i, p] of pods) {
        w.client.put('pods', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `${name}-${i}`,
            namespace: NAMESPACE,
            uid: p.uid,
            labels: { ...sts.spec.selector.matchLabels, 'controller-revision-hash': p.revision },
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name, uid: 'sts-uid', controller: true }],
            creationTimestamp: now.toISOString(),
          },
          spec: { containers: [{ name: 'macd', image: p.revision === 'rev-1' ? defaultRenderSettings.image : NEW_IMAGE }] },
          status: { phase: 'Running', conditions: [{ type: 'Ready', status: p.ready ? 'True' : 'False' }], containerStatuses: [{ name: 'macd', ready: p.ready, restartCount: 0, state: { running: { startedAt: now.toISOString() } } }] },
        });
      }
    };
    /** The controller replaces replica i with a pod of the new revision. */
    const replace = (i: number, ready: boolean): void => {
      pods.set(i, { revision: 'rev-2', ready, uid: `uid-${i}-new` });
    };
    const partition = (): number | undefined => (w.client.store.get(stsKey)!['spec'] as { updateStrategy?: { rollingUpdate?: { partition?: number } } }).updateStrategy?.rollingUpdate?.partition;
    const lastStatus = () => (w.client.store.get(`macpools/${key}`)!['status'] as { conditions: { type: string; status: string; reason: string; message: string }[] }).conditions;
    const setup = async (): Promise<void> => {
      await w.settle();
      for (let i = 0; i < REPLICAS; i++) {
        pods.set(i, { revision: 'rev-1', ready: true, uid: `uid-${i}-old` });
        report(i);
      }
      controller('rev-1', 'rev-1');
      await w.pass();
      w.client.actions.length = 0;
    };
    return { w, pods, report, controller, replace, partition, lastStatus, setup };
  }

  it('needs a pool of several replicas', () => {
    expect(REPLICAS).toBeGreaterThan(1);
  });

  it('steps through the replicas from the top ordinal, each serving before the next, with one status write per step', async () => {
    const u = upgradeWorld();
    await u.setup();
    expect(u.partition()).toBe(0);

    // The new release: the template and the partition in one write, nothing else; status unchanged (nothing rolls yet).
    u.w.setImage(NEW_IMAGE);
    await u.w.pass();
    expect(u.w.client.described()).toEqual([applySts]);
    expect(u.partition()).toBe(REPLICAS - 1);

    // The controller takes the top replica down: not serving yet, held there; Progressing/Upgrading.
    u.w.client.actions.length = 0;
    u.replace(REPLICAS - 1, false);
    u.controller('rev-1', 'rev-2');
    await u.w.pass();
    expect(u.w.client.described()).toEqual([statusWrite, 'event Normal Upgrading']);
    expect(u.partition()).toBe(REPLICAS - 1);
    expect(u.lastStatus().find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    expect(u.lastStatus().find((c) => c.type === 'Progressing')?.message).toBe(
      `StatefulSet ${name}: upgrading from ${defaultRenderSettings.image} to ${NEW_IMAGE}, one replica at a time; done: none yet; to go: ${Array.from({ length: REPLICAS }, (_, i) => `${name}-${REPLICAS - 1 - i}`).join(', ')}`,
    );

    // Ready, but its report is still the replaced pod's: held.
    u.w.client.actions.length = 0;
    u.replace(REPLICAS - 1, true);
    u.controller('rev-1', 'rev-2');
    await u.w.pass();
    expect(u.w.client.described()).toEqual([]);

    // The new pod reports: the next replica released, the step in the status.
    u.report(REPLICAS - 1, { version: '9.9.9' });
    await u.w.pass();
    expect(u.w.client.described()).toEqual([applySts, statusWrite]);
    expect(u.partition()).toBe(REPLICAS - 2);

    // The rest, one at a time.
    for (let i = REPLICAS - 2; i >= 0; i--) {
      u.w.client.actions.length = 0;
      u.replace(i, true);
      u.report(i, { version: '9.9.9' });
      u.controller('rev-1', 'rev-2');
      await u.w.pass();
      expect(u.w.client.described(), `replica ${i} serving`).toEqual(i > 0 ? [applySts, statusWrite] : [statusWrite]);
      expect(u.partition()).toBe(Math.max(0, i - 1));
    }

    // The controller is done: the upgrade completes, one status write and one event; then nothing.
    u.w.client.actions.length = 0;
    u.controller('rev-2', 'rev-2');
    await u.w.pass();
    expect(u.w.client.described()).toEqual([statusWrite, 'event Normal Upgraded']);
    expect(u.lastStatus().find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    u.w.client.actions.length = 0;
    await u.w.pass();
    expect(u.w.client.described()).toEqual([]);
  });

  it('a new replica that cannot read the state the old one left: stopped there, Degraded/UpgradeBlocked in its words, the others serving', async () => {
    const u = upgradeWorld();
    await u.setup();
    u.w.setImage(NEW_IMAGE);
    await u.w.pass();
    u.w.client.actions.length = 0;
    u.replace(REPLICAS - 1, false);
    u.report(REPLICAS - 1, { blocked: 'data directory format 2 is newer than this macd reads (1)', refused: ['data directory format 2 is newer than this macd reads (1)'] });
    u.controller('rev-1', 'rev-2');
    await u.w.pass();
    expect(u.w.client.described()).toEqual([statusWrite, 'event Warning UpgradeBlocked']);
    expect(u.partition()).toBe(REPLICAS - 1);
    const conditions = u.lastStatus();
    expect(conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'ReplicasReady' });
    expect(conditions.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'UpgradeBlocked',
      message: `StatefulSet ${name}: the upgrade to ${NEW_IMAGE} is stopped at ${name}-${REPLICAS - 1}: data directory format 2 is newer than this macd reads (1); the replicas not yet replaced keep serving`,
    });
    // Nothing changes: nothing written again.
    u.w.client.actions.length = 0;
    await u.w.pass();
    expect(u.w.client.described()).toEqual([]);
  });

  it('kubectl rollout restart (the controller rolls at partition 0): held after the first replica until it serves', async () => {
    const u = upgradeWorld();
    await u.setup();
    u.replace(REPLICAS - 1, false);
    u.pods.get(REPLICAS - 1)!.revision = 'rev-r';
    u.controller('rev-1', 'rev-r');
    await u.w.pass();
    expect(u.w.client.described()).toEqual([applySts, statusWrite, 'event Normal Upgrading']);
    expect(u.partition()).toBe(REPLICAS - 1);
  });
});
