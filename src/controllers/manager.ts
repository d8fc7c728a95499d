import type { Logger } from 'pino';
import { DHCP_SERVER_LABEL, MAC_POOL_LABEL } from '../api/leases.ts';
import { cidrsOverlap } from '../api/cidr.ts';
import { OWNER_ANNOTATION, type RenderSettings } from '../render/index.ts';
import type { KubeClient, KubeObject } from '../runtime/client.ts';
import { Controller } from '../runtime/controller.ts';
import { EventRecorder } from '../runtime/events.ts';
import { Informer, objectKey } from '../runtime/informer.ts';
import { LastWrites } from '../runtime/last-writes.ts';
import { LeaderElector } from '../runtime/leader.ts';
import type { ControllerMetrics } from '../runtime/metrics.ts';
import { dataPlaneManagerKind } from './dataplanemanager.ts';
import { reconcileReservation } from './dhcpreservation.ts';
import { dhcpSubnetKind } from './dhcpsubnet.ts';
import { macPoolKind } from './macpool.ts';
import { indexFuncs, NAMESPACE_INDEX, OWNER_NAME_INDEX, OWNER_UID_INDEX, WORKLOAD_INDEX } from './indexes.ts';
import { reconcileKind, type KindDefinition, type ReconcileContext } from './reconcile.ts';
import { FIRST_STATUS_GRACE_SECONDS } from './first-status.ts';
import { reservationsOf } from './reservations.ts';
import { childTypes, DhcpReservationType, LeaseType, MANAGED_BY_SELECTOR, PodType } from './resources.ts';
import { registerResourceMetrics } from './resource-metrics.ts';
import { podSummary, podWorkload, selectedPods } from './pods.ts';
import { WORKLOAD_KINDS } from './workload.ts';

// Wires informers to controllers: events on our resources enqueue their own
// key; events on a child enqueue its controller owner's key; events on the
// status Leases of macd and dhcpd enqueue the pool or subnet they report on.
// Only the leader runs the controllers; every replica keeps its caches warm.

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  metrics: ControllerMetrics;
  settings: RenderSettings;
  workers: number;
  /** Every resource is reconciled again this often, changed or not. */
  resyncPeriodMs: number;
  progressDeadlineSeconds: number;
  leaderElection?: { namespace: string; name: string; identity: string };
  onLeadershipLost?: () => void;
}

/** A kind with its reconcile bound, so kinds of different types share one list. */
function bind<T>(name: string, def: KindDefinition<T>, ctx: ReconcileContext) {
  return { name, kind: def.type.kind, reconcile: (key: string, log: Logger) => reconcileKind(def, ctx, key, log) };
}

export class Manager {
  readonly informers = new Map<string, Informer>();
  readonly controllers = new Map<string, Controller>();
  private readonly o: ManagerOptions;
  private readonly ctx: ReconcileContext;
  private elector: LeaderElector | undefined;
  private resyncTimer: ReturnType<typeof setInterval> | undefined;
  private leading = false;

  constructor(opts: ManagerOptions) {
    this.o = opts;
    const { client, log } = opts;
    const add = (kind: string, informer: Informer) => this.informers.set(kind, informer);
    for (const def of [macPoolKind, dhcpSubnetKind, dataPlaneManagerKind]) {
      add(def.type.kind, new Informer({ type: def.type, client, log }));
    }
    add('DhcpReservation', new Informer({ type: DhcpReservationType, client, log }));
    for (const [kind, type] of Object.entries(childTypes)) {
      add(kind, new Informer({ type, client, log, labelSelector: MANAGED_BY_SELECTOR }));
    }
    // The pods of our workloads, for why they are not ready (they carry the template's managed-by label).
    add('Pod', new Informer({ type: PodType, client, log, labelSelector: MANAGED_BY_SELECTOR, transform: podSummary }));
    // Leases of macd and dhcpd: one informer per label (a selector can't OR two labels).
    add('Lease', new Informer({ type: LeaseType, client, log, labelSelector: MAC_POOL_LABEL }));
    add('DhcpLease', new Informer({ type: LeaseType, client, log, labelSelector: DHCP_SERVER_LABEL }));
    for (const kind of Object.keys(childTypes)) {
      for (const index of [OWNER_UID_INDEX, OWNER_NAME_INDEX]) this.informers.get(kind)!.addIndex(index, indexFuncs[index]!);
    }
    this.informers.get('Pod')!.addIndex(WORKLOAD_INDEX, indexFuncs[WORKLOAD_INDEX]!);
    this.informers.get('DhcpSubnet')!.addIndex(NAMESPACE_INDEX, indexFuncs[NAMESPACE_INDEX]!);
    registerResourceMetrics(opts.metrics.registry, this.informers);

    this.ctx = {
      client,
      informers: this.informers,
      leases: () => [...this.informers.get('Lease')!.list(), ...this.informers.get('DhcpLease')!.list()],
      recorder: new EventRecorder(client, 'alcor-operator', log),
      settings: opts.settings,
      now: () => new Date(),
      progressDeadlineSeconds: opts.progressDeadlineSeconds,
      notReadyRequeueMs: 30_000,
      // A new resource on its way has nothing to report for FIRST_STATUS_GRACE_SECONDS
      // (kstatus reads no status as in progress): one status write when it comes up
      // in that time. A slower rollout shows Ready=False with its reason after it,
      // not only at the deadline: `kubectl get` must not stay blank for minutes.
      firstStatusGraceSeconds: Math.min(FIRST_STATUS_GRACE_SECONDS, opts.progressDeadlineSeconds),
      lastWrites: new LastWrites(),
    };

    const kinds = [
      bind('macpool', macPoolKind, this.ctx),
      bind('dhcpsubnet', dhcpSubnetKind, this.ctx),
      bind('dataplanemanager', dataPlaneManagerKind, this.ctx),
      { name: 'dhcpreservation', kind: 'DhcpReservation', reconcile: (key: string, l: Logger) => reconcileReservation(this.ctx, key, l) },
    ];
    for (const { name, kind, reconcile } of kinds) {
      const controller = new Controller({ name, log, metrics: opts.metrics, workers: opts.workers, reconcile });
      this.controllers.set(kind, controller);
      const informer = this.informers.get(kind)!;
      const enqueue = (obj: KubeObject) => controller.enqueue(objectKey(obj));
      informer.on('add', enqueue);
      informer.on('update', (obj, old) => {
        // Our own status writes come back as updates: only spec, labels and deletion matter.
        if (old && obj.metadata.generation === old.metadata.generation && obj.metadata.deletionTimestamp === old.metadata.deletionTimestamp) {
          if (sameStatusOnly(obj, old)) return;
        }
        enqueue(obj);
      });
      informer.on('delete', enqueue);
    }
    // A change to one DhcpSubnet can start or end a conflict of the
    // neighbours its CIDR overlaps (before or after the change), and of no
    // others: a thousand subnets of one namespace must not reconcile each
    // other a thousand times over.
    const subnets = this.informers.get('DhcpSubnet')!;
    const dhcp = this.controllers.get('DhcpSubnet')!;
    const cidrOf = (o: KubeObject | undefined) => (o?.['spec'] as { cidr?: unknown } | undefined)?.cidr;
    const neighbours = (obj: KubeObject, old?: KubeObject) => {
      const cidrs = [cidrOf(obj), cidrOf(old)].filter((c): c is string => typeof c === 'string');
      for (const s of subnets.byIndex(NAMESPACE_INDEX, obj.metadata.namespace ?? '')) {
        if (s.metadata.name === obj.metadata.name) continue;
        const theirs = cidrOf(s);
        if (typeof theirs !== 'string' || cidrs.some((c) => cidrsOverlap(c, theirs))) dhcp.enqueue(objectKey(s));
      }
    };
    subnets.on('add', (obj) => neighbours(obj));
    subnets.on('delete', (obj) => neighbours(obj));
    subnets.on('update', (obj, old) => {
      if (old && obj.metadata.generation !== old.metadata.generation) neighbours(obj, old);
    });

    // DhcpReservations: a change re-renders their subnet's config and can
    // change which of its siblings win an overlap; a subnet's change (or its
    // servers' report) changes their status.
    const reservations = this.informers.get('DhcpReservation')!;
    const reservationController = this.controllers.get('DhcpReservation')!;
    const subnetRef = (obj: KubeObject): string | undefined => {
      const name = (obj['spec'] as { subnetRef?: { name?: unknown } } | undefined)?.subnetRef?.name;
      return typeof name === 'string' ? name : undefined;
    };
    const reservationsOfSubnet = (namespace: string | undefined, subnet: string) => {
      for (const r of reservationsOf(reservations.list(), namespace, subnet)) reservationController.enqueue(objectKey(r));
    };
    const onReservation = (obj: KubeObject, old?: KubeObject) => {
      for (const o of old ? [obj, old] : [obj]) {
        const subnet = subnetRef(o);
        if (subnet === undefined) continue;
        dhcp.enqueue(`${o.metadata.namespace}/${subnet}`);
        reservationsOfSubnet(o.metadata.namespace, subnet);
      }
    };
    reservations.on('add', (obj) => onReservation(obj));
    reservations.on('delete', (obj) => onReservation(obj));
    reservations.on('update', (obj, old) => {
      if (old && obj.metadata.generation === old.metadata.generation && obj.metadata.deletionTimestamp === old.metadata.deletionTimestamp) return;
      onReservation(obj, old);
    });
    for (const ev of ['add', 'update', 'delete'] as const) {
      subnets.on(ev, (obj: KubeObject) => reservationsOfSubnet(obj.metadata.namespace, obj.metadata.name));
    }

    for (const kind of Object.keys(childTypes)) {
      const handler = (obj: KubeObject) => this.enqueueOwner(obj);
      const informer = this.informers.get(kind)!;
      informer.on('add', handler);
      informer.on('update', handler);
      informer.on('delete', handler);
    }
    // A pod's readiness or restarts change why its workload is not ready: look at its owner again.
    // Found by the pod's owner reference; a pod without one, by the workloads' selectors.
    const onPod = (pod: KubeObject) => {
      const owner = podWorkload(pod);
      if (owner) {
        const w = this.informers.get(owner.kind)?.get(owner.key);
        if (w) this.enqueueOwner(w);
        return;
      }
      for (const kind of WORKLOAD_KINDS) {
        for (const w of this.informers.get(kind)?.list() ?? []) {
          if (w.metadata.namespace === pod.metadata.namespace && selectedPods(w as Parameters<typeof selectedPods>[0], [pod as Parameters<typeof selectedPods>[1][number]]).length) this.enqueueOwner(w);
        }
      }
    };
    for (const ev of ['add', 'update', 'delete'] as const) this.informers.get('Pod')!.on(ev, onPod);
    const onMacLease = (obj: KubeObject) => {
      const pool = obj.metadata.labels?.[MAC_POOL_LABEL];
      if (pool) this.controllers.get('MacPool')!.enqueue(`${obj.metadata.namespace}/${pool}`);
    };
    const onDhcpLease = (obj: KubeObject) => {
      const subnet = obj.metadata.labels?.[DHCP_SERVER_LABEL];
      if (!subnet) return;
      this.controllers.get('DhcpSubnet')!.enqueue(`${obj.metadata.namespace}/${subnet}`);
      reservationsOfSubnet(obj.metadata.namespace, subnet);
    };
    for (const ev of ['add', 'update', 'delete'] as const) {
      this.informers.get('Lease')!.on(ev, onMacLease);
      this.informers.get('DhcpLease')!.on(ev, onDhcpLease);
    }
  }

  private enqueueOwner(obj: KubeObject): void {
    const ref = (obj.metadata.ownerReferences ?? []).find((r) => r.controller && r.apiVersion.startsWith('alcor.dev/'));
    if (ref) {
      this.controllers.get(ref.kind)?.enqueue(`${obj.metadata.namespace}/${ref.name}`);
      return;
    }
    // A child in another namespace names its owner in an annotation: Kind/namespace/name.
    const owner = obj.metadata.annotations?.[OWNER_ANNOTATION];
    const m = owner ? /^([A-Za-z]+)\/([^/]+\/[^/]+)$/.exec(owner) : null;
    if (m) this.controllers.get(m[1]!)?.enqueue(m[2]!);
  }

  /** Starts the caches, then (as leader, when leader election is on) the controllers. */
  async start(): Promise<void> {
    for (const informer of this.informers.values()) informer.start();
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
    this.o.log.info({ informers: this.informers.size }, 'caches synced');
    const le = this.o.leaderElection;
    if (!le) {
      this.startControllers();
      return;
    }
    this.o.metrics.leaderStatus.set({ name: le.name }, 0);
    this.elector = new LeaderElector({
      client: this.o.client,
      log: this.o.log,
      ...le,
      onStartedLeading: () => {
        this.o.metrics.leaderStatus.set({ name: le.name }, 1);
        this.startControllers();
      },
      onStoppedLeading: () => {
        this.o.metrics.leaderStatus.set({ name: le.name }, 0);
        this.o.onLeadershipLost?.();
      },
    });
    this.elector.start();
  }

  cachesSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  private startControllers(): void {
    if (this.leading) return;
    this.leading = true;
    for (const [kind, controller] of this.controllers) {
      controller.start();
      for (const obj of this.informers.get(kind)!.list()) controller.enqueue(objectKey(obj));
    }
    // Level-triggered safety net: look at everything again now and then.
    this.resyncTimer = setInterval(() => {
      for (const [kind, controller] of this.controllers) for (const obj of this.informers.get(kind)!.list()) controller.enqueue(objectKey(obj));
    }, this.o.resyncPeriodMs);
    this.o.log.info({ controllers: [...this.controllers.keys()] }, 'controllers started');
  }

  async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await Promise.all([...this.controllers.values()].map((c) => c.stop()));
    await this.elector?.stop();
    for (const informer of this.informers.values()) informer.stop();
  }
}

function sameStatusOnly(obj: KubeObject, old: KubeObject): boolean {
  const strip = (o: KubeObject) => JSON.stringify({ ...o, status: undefined, metadata: { ...o.metadata, resourceVersion: undefined, managedFields: undefined } });
  return strip(obj) === strip(old);
}
