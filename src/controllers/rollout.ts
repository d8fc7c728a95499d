import type { KubeObject } from '../runtime/client.ts';
import { isSubset } from '../runtime/diff.ts';
import { podProblem, type PodLike } from './pods.ts';

// Rolling a workload to a new pod template (a new release of the operator, a
// new image, a restart) while it keeps serving. StatefulSets (macd, dhcpd)
// roll one replica at a time through the partition, which the operator steps
// down only once the replica it last replaced serves: Ready, and its report
// Lease written by the new pod and not `blocked` (it could read the state the
// old one left). A new replica that cannot take over stops the roll there,
// the old replicas keep serving. Deployments (Alcor's services) roll with
// maxUnavailable 0, DaemonSets one node at a time, by their own controllers;
// for every kind, `workloadUpgrade` says what is rolling, from what to what,
// and what blocks it. Pure: objects from the caches in, numbers and words out.

/** A pod as the operator's cache holds it (pods.ts podSummary). */
export type CachedPod = PodLike & { metadata: { uid?: string; namespace?: string } };

/** What a kind knows of one replica from what it reports: serving the pod's template, still starting, or unable to. */
export type ReplicaState = { state: 'serving' } | { state: 'starting' } | { state: 'blocked'; message: string };
export type ReplicaGate = (pod: CachedPod) => ReplicaState;

/** Every replica that is Ready serves: for pods that report nothing (Alcor's). */
export const readyServes: ReplicaGate = () => ({ state: 'serving' });

export interface WorkloadUpgrade {
  kind: string;
  name: string;
  /** What the replicas still on the old template run (their images), and what the new template runs. */
  from: string[];
  to: string;
  /** Replicas on the new template that serve. */
  done: string[];
  /** Replicas still on the old template, or on the new one and not serving yet, in the order they roll. */
  toGo: string[];
  /** Why the roll cannot go on (a new replica cannot read the old state, or keeps failing); the old replicas keep serving. */
  blocked?: string;
}

interface WorkloadObject extends KubeObject {
  spec?: {
    replicas?: number;
    template?: { spec?: { containers?: { image?: string }[] } };
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  status?: { observedGeneration?: number; currentRevision?: string; updateRevision?: string };
}

const REVISION_LABEL = 'controller-revision-hash';
const DEPLOYMENT_HASH_LABEL = 'pod-template-hash';
const DAEMONSET_GENERATION_LABEL = 'pod-template-generation';

const isReady = (p: CachedPod): boolean => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const live = (pods: CachedPod[]): CachedPod[] => pods.filter((p) => !p.metadata.deletionTimestamp);
const images = (pods: CachedPod[]): string[] => [...new Set(pods.flatMap((p) => (p.spec?.containers ?? []).map((c) => c.image ?? '')))].filter(Boolean).sort();
const templateImage = (w: WorkloadObject): string => (w.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '').join(', ');
const generationOf = (w: WorkloadObject): number => (w.metadata as { generation?: number }).generation ?? 1;
/** The workload's controller has seen its latest spec, so its status speaks for it. */
const observed = (w: WorkloadObject): boolean => (w.status?.observedGeneration ?? 0) >= generationOf(w);

/** A StatefulSet's replica names, highest ordinal first: the order a roll takes. */
function ordinalsDown(w: WorkloadObject): string[] {
  const n = w.spec?.replicas ?? 1;
  return Array.from({ length: n }, (_, i) => `${w.metadata.name}-${n - 1 - i}`);
}

/**
 * How far a StatefulSet's roll has come: the replicas on the new revision that
 * serve, from the top ordinal down, then the first that does not, and why it
 * cannot when it cannot (its report says so, or its pod keeps failing).
 */
function statefulSetProgress(w: WorkloadObject, pods: CachedPod[], gate: ReplicaGate, now: Date): { done: string[]; next?: string; blocked?: string } {
  const byName = new Map(live(pods).map((p) => [p.metadata.name, p]));
  const update = w.status?.updateRevision;
  const done: string[] = [];
  for (const name of ordinalsDown(w)) {
    const pod = byName.get(name);
    if (!pod || update === undefined || pod.metadata.labels?.[REVISION_LABEL] !== update) return { done, next: name };
    const state = gate(pod);
    if (state.state === 'blocked') return { done, next: name, blocked: `${name}: ${state.message}` };
    if (!isReady(pod) || state.state !== 'serving') {
      const problem = podProblem(pod, now);
      return { done, next: name, ...(problem ? { blocked: `${name}: ${problem.message}` } : {}) };
    }
    done.push(name);
  }
  return { done };
}

/**
 * The partition to apply with a StatefulSet's desired state: 0 when nothing
 * rolls; when its pod template changes, all but the top replica held back;
 * then one more replica released each time the last one replaced serves.
 */
export function statefulSetPartition(desired: WorkloadObject, current: WorkloadObject | undefined, pods: CachedPod[], gate: ReplicaGate, now: Date): number {
  const replicas = desired.spec?.replicas ?? 1;
  if (!current) return 0;
  // A new template: the roll starts at the top ordinal (applied with the template, in one write).
  if (!isSubset(desired.spec?.template, current.spec?.template)) return Math.max(0, replicas - 1);
  const held = current.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  // The controller has not seen our last change yet: keep what we asked.
  if (!observed(current)) return held;
  const { currentRevision, updateRevision } = current.status ?? {};
  if (!updateRevision || currentRevision === updateRevision) return 0;
  const { done } = statefulSetProgress({ ...current, spec: { ...current.spec, replicas } }, pods, gate, now);
  return Math.max(0, replicas - 1 - done.length);
}

/**
 * What is rolling in a workload and how far it has come, or undefined when
 * nothing rolls: from its status as its controller last reported it (a spec
 * change it has not acted on yet shows once it has) and from its pods.
 */
export function workloadUpgrade(w: WorkloadObject, pods: CachedPod[], gate: ReplicaGate, now: Date): WorkloadUpgrade | undefined {
  if (w.kind === 'StatefulSet') return statefulSetUpgrade(w, pods, gate, now);
  if (w.kind === 'Deployment') return replicaSetUpgrade(w, pods, DEPLOYMENT_HASH_LABEL, now);
  // A DaemonSet's pods carry the template generation the API server keeps in this annotation (it moves only when the template does).
  if (w.kind === 'DaemonSet') return replicaSetUpgrade(w, pods, DAEMONSET_GENERATION_LABEL, now, w.metadata.annotations?.['deprecated.daemonset.template.generation'] ?? String(generationOf(w)));
  return undefined;
}

function statefulSetUpgrade(w: WorkloadObject, pods: CachedPod[], gate: ReplicaGate, now: Date): WorkloadUpgrade | undefined {
  const { currentRevision, updateRevision } = w.status ?? {};
  if (!currentRevision || !updateRevision || currentRevision === updateRevision) return undefined;
  const progress = statefulSetProgress(w, pods, gate, now);
  // A replica on its way out still runs the old release: it counts in what the roll is from.
  const old = pods.filter((p) => p.metadata.labels?.[REVISION_LABEL] !== updateRevision);
  return {
    kind: w.kind,
    name: w.metadata.name,
    from: images(old),
    to: templateImage(w),
    done: progress.done,
    toGo: ordinalsDown(w).filter((n) => !progress.done.includes(n)),
    ...(progress.blocked ? { blocked: progress.blocked } : {}),
  };
}

/**
 * Deployments and DaemonSets: the pods of the newest template (the newest
 * pod-template-hash group, or the DaemonSet's current template generation)
 * against the others. A new pod that keeps failing blocks the roll (with
 * maxUnavailable 0 the old ones keep serving).
 */
function replicaSetUpgrade(w: WorkloadObject, pods: CachedPod[], label: string, now: Date, newest?: string): WorkloadUpgrade | undefined {
  const groups = new Map<string, CachedPod[]>();
  for (const p of live(pods)) {
    const key = p.metadata.labels?.[label];
    if (key !== undefined) groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  if (groups.size < 2) return undefined;
  const created = (ps: CachedPod[]): number => Math.max(...ps.map((p) => Date.parse(p.metadata.creationTimestamp ?? '') || 0));
  const key = newest !== undefined && groups.has(newest) ? newest : [...groups].sort(([, a], [, b]) => created(b) - created(a))[0]![0];
  const fresh = groups.get(key) ?? [];
  const old = [...groups].filter(([k]) => k !== key).flatMap(([, ps]) => ps);
  const failing = fresh.map((p) => [p, podProblem(p, now)] as const).find(([, problem]) => problem !== undefined);
  const names = (ps: CachedPod[]): string[] => ps.map((p) => p.metadata.name).sort();
  return {
    kind: w.kind,
    name: w.metadata.name,
    from: images(old),
    to: templateImage(w),
    done: names(fresh.filter(isReady)),
    toGo: names([...old, ...fresh.filter((p) => !isReady(p))]),
    ...(failing ? { blocked: `${failing[0].metadata.name}: ${failing[1]!.message}` } : {}),
  };
}

/** The desired StatefulSet with the partition its roll is at. */
export function withPartition(desired: KubeObject, partition: number): KubeObject {
  const spec = (desired['spec'] ?? {}) as Record<string, unknown>;
  return { ...desired, spec: { ...spec, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition } } } };
}
