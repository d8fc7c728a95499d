import type { Logger } from 'pino';
import type { z } from 'zod';
import { formatIssues } from '../api/index.ts';
import { OWNER_ANNOTATION, OWNER_UID_LABEL, type RenderSettings } from '../render/index.ts';
import { ApiError, apiVersionOf, resourcePath, type KubeClient, type KubeObject, type ResourceType } from '../runtime/client.ts';
import { findCondition, setConditions, type Condition } from '../runtime/conditions.ts';
import { APPLIED_HASH_ANNOTATION, applyReason, stableStringify, withAppliedHash } from '../runtime/diff.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { LastWrites } from '../runtime/last-writes.ts';
import type { Cache } from '../runtime/informer.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { conditionEvents } from './condition-events.ts';
import { computeConditions } from './conditions.ts';
import type { ServedVerdict } from './served.ts';
import { firstStatusDelayMs } from './first-status.ts';
import { OWNER_NAME_INDEX, OWNER_UID_INDEX, WORKLOAD_INDEX } from './indexes.ts';
import { childTypes } from './resources.ts';
import { podProblems, selectedPods } from './pods.ts';
import { readyServes, statefulSetPartition, withPartition, workloadUpgrade, type CachedPod, type ReplicaGate } from './rollout.ts';
import { WORKLOAD_KINDS, workloadState, type WorkloadState } from './workload.ts';

// One reconcile for every kind, level-triggered: read the resource from the
// cache, render its children, apply those that differ, prune those no longer
// wanted, rebuild status from the children's real state and write it only
// when it changed (a new resource's first status only once it says more than
// "on its way": first-status.ts). Kinds differ only in their KindDefinition.

export interface ReconcileContext {
  client: KubeClient;
  /** Informers by kind (the three of ours and the child kinds): only their caches are read, children and pods through indexes.ts. */
  informers: ReadonlyMap<string, Cache>;
  /** The status Leases of macd and dhcpd replicas. */
  leases: () => KubeObject[];
  recorder: EventRecorder;
  settings: RenderSettings;
  now: () => Date;
  progressDeadlineSeconds: number;
  /** How soon to look again at a resource that is not Ready yet. */
  notReadyRequeueMs: number;
  /** How long a new resource whose workloads roll out as they should goes without a status (first-status.ts). */
  firstStatusGraceSeconds: number;
  /** Our writes the caches have not caught up with: not written again (src/runtime/last-writes.ts). */
  lastWrites: LastWrites;
}

export interface KindDefinition<T> {
  type: ResourceType;
  schema: z.ZodType<T>;
  /** The children; `ctx` for inputs besides the resource (a DhcpSubnet's DhcpReservations), read from the caches. */
  render(obj: T, settings: RenderSettings, ctx: ReconcileContext): KubeObject[];
  /** A conflict with other resources that stops this one being served. */
  conflict?(obj: T, ctx: ReconcileContext): { reason: string; message: string } | undefined;
  /** What the servers report that needs a look while they serve (Degraded, Ready unchanged). */
  warning?(obj: T, ctx: ReconcileContext): { reason: string; message: string } | undefined;
  /** Status fields besides conditions and observedGeneration (counts, endpoint). */
  statusFields(obj: T, ctx: ReconcileContext, children: Map<string, KubeObject>): Record<string, unknown>;
  /** What the kind's servers report of their config: refused parts, replicas on an older generation. */
  served?(obj: T, ctx: ReconcileContext, children: Map<string, KubeObject>): ServedVerdict;
  /** Whether a replica of its servers serves, from what it reports (rollout.ts); default: a Ready pod serves. */
  replicaGate?(obj: T, ctx: ReconcileContext): ReplicaGate;
}

/** A child's key among its owner's children: kind and name, plus the namespace when it is not the owner's. */
const childKey = (kind: string, name: string, namespace?: string) => (namespace === undefined ? `${kind}/${name}` : `${kind}/${namespace}/${name}`);

export async function reconcileKind<T>(def: KindDefinition<T>, ctx: ReconcileContext, key: string, log: Logger): Promise<ReconcileResult | void> {
  const obj = ctx.informers.get(def.type.kind)?.get(key);
  // Gone: its children in its namespace follow through their owner
  // references; those in other namespaces (where no owner reference can
  // point) are deleted here.
  if (!obj) return deleteForeignChildren(ctx, `${def.type.kind}/${key}`, log);
  if (obj.metadata.deletionTimestamp) return;
  const generation = obj.metadata.generation ?? 1;

  const parsed = def.schema.safeParse(obj);
  let invalid: string | undefined;
  let conflict: { reason: string; message: string } | undefined;
  let applyError: string | undefined;
  let children = new Map<string, KubeObject>();
  if (!parsed.success) {
    invalid = formatIssues(parsed.error);
  } else {
    conflict = def.conflict?.(parsed.data, ctx);
    if (!conflict) {
      try {
        const gate = def.replicaGate?.(parsed.data, ctx) ?? readyServes;
        const desired = def.render(parsed.data, ctx.settings, ctx).map((d) => (d.kind === 'StatefulSet' ? withRollout(ctx, d, gate) : d));
        children = await syncChildren(ctx, obj, desired, log);
      } catch (err) {
        // The namespace is being deleted, and the resource with it: nothing to create or report.
        if (err instanceof NamespaceTerminating) return;
        applyError = err instanceof Error ? err.message : String(err);
      }
    }
  }

  const oldStatus = (obj['status'] ?? {}) as { conditions?: Condition[] } & Record<string, unknown>;
  const oldReady = findCondition(oldStatus.conditions, 'Ready');
  const oldProgressing = findCondition(oldStatus.conditions, 'Progressing');
  const now = ctx.now();
  const warning = parsed.success && !conflict ? def.warning?.(parsed.data, ctx) : undefined;
  const gate = parsed.success ? (def.replicaGate?.(parsed.data, ctx) ?? readyServes) : readyServes;
  const workloads = [...children.values()].filter((c) => WORKLOAD_KINDS.has(c.kind)).map((c) => observedWorkload(ctx, c, gate, now));
  const created = firstCreated(children);
  const served = parsed.success && !conflict && applyError === undefined ? def.served?.(parsed.data, ctx, children) : undefined;
  const conditions = setConditions(
    oldStatus.conditions,
    computeConditions({
      generation,
      ...(invalid !== undefined ? { invalid } : {}),
      ...(conflict ? { conflict } : {}),
      ...(applyError !== undefined ? { applyError } : {}),
      ...(warning ? { warning } : {}),
      ...(served?.refused !== undefined ? { configRejected: served.refused } : {}),
      ...(served?.pending !== undefined ? { configPending: served.pending } : {}),
      ...(served?.blocked !== undefined ? { blocked: served.blocked } : {}),
      workloads,
      // A new resource (no status yet, first-status.ts) has been on its way since its workloads were created.
      ...(oldReady?.status === 'False' ? { notReadySince: new Date(oldReady.lastTransitionTime) } : oldReady === undefined && created ? { notReadySince: created } : {}),
      ...(oldProgressing ? { lastProgressing: { status: oldProgressing.status, reason: oldProgressing.reason, since: new Date(oldProgressing.lastTransitionTime), ...(oldProgressing.observedGeneration !== undefined ? { observedGeneration: oldProgressing.observedGeneration } : {}) } } : {}),
      now,
      progressDeadlineSeconds: ctx.progressDeadlineSeconds,
    }),
    now,
  );
  const fields = parsed.success && !conflict ? def.statusFields(parsed.data, ctx, children) : {};
  const status = { observedGeneration: generation, ...fields, conditions };
  const holdBack = firstStatusDelayMs({ before: oldStatus.conditions, after: conditions, workloadsCreated: created, now, graceSeconds: ctx.firstStatusGraceSeconds });
  if (holdBack !== undefined) return { requeueAfterMs: Math.min(holdBack, ctx.notReadyRequeueMs) };
  const statusText = stableStringify(status);
  const statusKey = `${def.type.kind}/${key}/status`;
  if (statusText !== stableStringify(oldStatus) && ctx.lastWrites.unseen(statusKey, obj.metadata.resourceVersion) !== statusText) {
    await writeStatus(ctx.client, def.type, obj, status);
    ctx.lastWrites.record(statusKey, obj.metadata.resourceVersion, statusText);
    for (const event of conditionEvents(oldStatus.conditions, conditions)) void ctx.recorder.record(obj, event);
    log.info({ ready: findCondition(conditions, 'Ready')?.status, reason: findCondition(conditions, 'Ready')?.reason, progressing: findCondition(conditions, 'Progressing')?.reason }, 'status updated');
    log.debug({ before: oldStatus, after: status }, 'status written');
  }
  if (applyError !== undefined) throw new Error(applyError);
  if (invalid !== undefined || conflict !== undefined) return;
  if (findCondition(conditions, 'Ready')?.status !== 'True') return { requeueAfterMs: ctx.notReadyRequeueMs };
  // Ready while a config is on its way: one more look when its deadline
  // passes, as a server that never reports never wakes us.
  const progressing = findCondition(conditions, 'Progressing');
  if (progressing?.status === 'True') {
    const deadline = Date.parse(progressing.lastTransitionTime) + ctx.progressDeadlineSeconds * 1000;
    return { requeueAfterMs: Math.max(1000, deadline - now.getTime() + 1000) };
  }
}

/** When the first of the workload children was created. */
function firstCreated(children: Map<string, KubeObject>): Date | undefined {
  const times = [...children.values()].filter((c) => WORKLOAD_KINDS.has(c.kind) && c.metadata.creationTimestamp).map((c) => Date.parse(c.metadata.creationTimestamp!));
  return times.length ? new Date(Math.min(...times)) : undefined;
}

/** The pods of a workload, from the cache. */
function podsOf(ctx: ReconcileContext, workload: KubeObject): (CachedPod & KubeObject)[] {
  const indexed = (ctx.informers.get('Pod')?.byIndex(WORKLOAD_INDEX, `${workload.kind}/${workload.metadata.namespace}/${workload.metadata.name}`) ?? []) as (CachedPod & KubeObject)[];
  return selectedPods(workload as Parameters<typeof selectedPods>[0], indexed);
}

/**
 * A workload's state as its controller last reported it (the cached object:
 * the one an apply just returned has a spec its controller has not looked at
 * yet, which would read as not ready for a moment); when it is not ready,
 * with what its pods say about why; when it rolls, how far.
 */
function observedWorkload(ctx: ReconcileContext, child: KubeObject, gate: ReplicaGate, now: Date): WorkloadState {
  const seen = ctx.informers.get(child.kind)?.get(`${child.metadata.namespace}/${child.metadata.name}`) ?? child;
  const state = workloadState(seen as Parameters<typeof workloadState>[0]);
  const pods = podsOf(ctx, seen);
  const upgrade = workloadUpgrade(seen, pods, gate, now);
  const withUpgrade = upgrade ? { ...state, upgrade } : state;
  if (state.observed && state.ready >= state.desired && state.updated >= state.desired) return withUpgrade;
  return { ...withUpgrade, problems: [...state.problems, ...podProblems(pods, now, ctx.progressDeadlineSeconds)] };
}

/** A desired StatefulSet with the partition of its roll (rollout.ts): one replica at a time, each serving before the next. */
function withRollout(ctx: ReconcileContext, desired: KubeObject, gate: ReplicaGate): KubeObject {
  const current = ctx.informers.get(desired.kind)?.get(`${desired.metadata.namespace}/${desired.metadata.name}`);
  const pods = current ? podsOf(ctx, current) : [];
  return withPartition(desired, statefulSetPartition(desired, current, pods, gate, ctx.now()));
}

/**
 * Applies the desired children that differ from the cluster, deletes owned
 * children no longer desired, and returns the children as they now are.
 */
export async function syncChildren(ctx: ReconcileContext, owner: KubeObject, desired: KubeObject[], log: Logger): Promise<Map<string, KubeObject>> {
  const result = new Map<string, KubeObject>();
  const wanted = new Set<string>();
  const namespace = owner.metadata.namespace ?? '';
  await Promise.all(
    desired.map(async (d) => {
      const type = childTypes[d.kind];
      if (!type) throw new Error(`render produced an unknown kind ${d.kind}`);
      // A child may live in another namespace (the Role Ignite's discovery needs, in Ignite's).
      const ns = d.metadata.namespace ?? namespace;
      const ckey = childKey(d.kind, d.metadata.name, ns === namespace ? undefined : ns);
      wanted.add(ckey);
      const want = withAppliedHash(d);
      const hash = want.metadata.annotations[APPLIED_HASH_ANNOTATION]!;
      const current = ctx.informers.get(d.kind)?.get(`${ns}/${d.metadata.name}`);
      const reason = applyReason(want, current);
      const writeKey = `${ckey}@${namespace}`;
      // Applied by an earlier pass, and the cache has not seen it yet: not again.
      const unseen = reason !== undefined && ctx.lastWrites.unseen(writeKey, current?.metadata.resourceVersion) === hash;
      if (reason === undefined || (unseen && current)) {
        result.set(ckey, current as KubeObject);
        return;
      }
      const partition = (d['spec'] as { updateStrategy?: { rollingUpdate?: { partition?: number } } } | undefined)?.updateStrategy?.rollingUpdate?.partition;
      log.info({ kind: d.kind, child: d.metadata.name, ...(ns !== namespace ? { childNamespace: ns } : {}), reason, ...(partition !== undefined ? { partition } : {}) }, 'applying child');
      const path = resourcePath(type, ns, d.metadata.name);
      try {
        result.set(ckey, await ctx.client.apply<KubeObject>(path, want));
        ctx.lastWrites.record(writeKey, current?.metadata.resourceVersion, hash);
      } catch (err) {
        if (ns === namespace && err instanceof ApiError && err.status === 403 && /because it is being terminated/.test(err.message)) {
          log.info({ kind: d.kind, child: d.metadata.name, err: err.message }, 'not applying child: its namespace is being terminated');
          throw new NamespaceTerminating(err.message);
        }
        if (!(current && err instanceof ApiError && err.status === 422)) {
          throw new Error(`applying ${d.kind} ${d.metadata.name}: ${err instanceof Error ? err.message : String(err)}`);
        }
        // Someone changed a key of a list we own (e.g. a Service port): apply
        // would add our entry beside theirs and the result is invalid. Replace
        // the child; pods of a workload are orphaned and adopted again, not killed.
        log.warn({ kind: d.kind, child: d.metadata.name, err: err.message }, 'child cannot be patched back; recreating it');
        await ctx.client.json('DELETE', `${path}?propagationPolicy=Orphan`).catch((e: unknown) => {
          if (!(e instanceof ApiError && e.status === 404)) throw e;
        });
        void ctx.recorder.record(owner, { type: 'Warning', reason: 'ChildRecreated', message: `${d.kind} ${d.metadata.name} was edited so that it could not be patched back (${err.message}); recreated it` });
        result.set(ckey, await ctx.client.apply<KubeObject>(path, want));
      }
    }),
  );
  // Prune: children we own that render no longer produces: by controller
  // reference in the owner's namespace, by the owner-uid label elsewhere.
  const uid = owner.metadata.uid;
  for (const [kind, type] of Object.entries(childTypes)) {
    const informer = ctx.informers.get(kind);
    if (!informer || !uid) continue;
    for (const child of informer.byIndex(OWNER_UID_INDEX, uid)) {
      const ns = child.metadata.namespace ?? '';
      const own = ns === namespace;
      if (wanted.has(childKey(kind, child.metadata.name, own ? undefined : ns))) continue;
      const owned = own
        ? (child.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.controller)
        : child.metadata.labels?.[OWNER_UID_LABEL] === uid;
      if (!owned) continue;
      log.info({ kind, child: child.metadata.name, ...(own ? {} : { childNamespace: ns }) }, 'deleting child no longer wanted');
      await deleteChild(ctx, type, ns, child.metadata.name);
    }
  }
  return result;
}

async function deleteChild(ctx: ReconcileContext, type: ResourceType, namespace: string, name: string): Promise<void> {
  try {
    await ctx.client.json('DELETE', `${resourcePath(type, namespace, name)}?propagationPolicy=Background`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
}

/**
 * Deletes the children of a resource that no longer exists that live outside
 * its namespace: they carry its identity in an annotation, as owner
 * references cannot cross namespaces. (Label-based: nothing else holds the
 * resource's deletion up, so removing the operator never strands it.)
 */
async function deleteForeignChildren(ctx: ReconcileContext, owner: string, log: Logger): Promise<void> {
  const ownerNamespace = owner.split('/')[1];
  for (const [kind, type] of Object.entries(childTypes)) {
    for (const child of ctx.informers.get(kind)?.byIndex(OWNER_NAME_INDEX, owner) ?? []) {
      if (child.metadata.annotations?.[OWNER_ANNOTATION] !== owner || child.metadata.namespace === ownerNamespace) continue;
      log.info({ kind, child: child.metadata.name, childNamespace: child.metadata.namespace }, 'deleting child of a deleted resource');
      await deleteChild(ctx, type, child.metadata.namespace ?? '', child.metadata.name);
    }
  }
}

export async function writeStatus(client: KubeClient, type: ResourceType, obj: KubeObject, status: Record<string, unknown>): Promise<void> {
  const path = `${resourcePath(type, obj.metadata.namespace, obj.metadata.name)}/status`;
  await client.apply(path, { apiVersion: apiVersionOf(type), kind: type.kind, metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace }, status });
}

/** A create refused because the namespace is being deleted (the API server's NamespaceLifecycle admission). */
class NamespaceTerminating extends Error {}
