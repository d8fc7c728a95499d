import type { KubeObject } from '../runtime/client.ts';

// Why a workload's pods are not ready, read from the pods as the API server
// returns them: a chain of named checks, `(pod, now) => problem`, the first
// that has something to say decides for that pod. Pure, so each case is a row
// in a table test. Messages carry no counts and no pod names (they change
// with every pod, and each change would be one more status write).

export interface PodProblem {
  /** CamelCase, for the Ready condition's reason. */
  reason: string;
  message: string;
}

interface Probe {
  httpGet?: { path?: string; port?: number | string };
  tcpSocket?: { port?: number | string };
  exec?: { command?: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
}

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { exitCode?: number; reason?: string };
}

export interface PodLike {
  metadata: { name: string; creationTimestamp?: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec?: { containers?: { name: string; image?: string; startupProbe?: Probe; readinessProbe?: Probe }[] };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: {
      name: string;
      ready?: boolean;
      started?: boolean;
      restartCount?: number;
      image?: string;
      state?: ContainerState;
      lastState?: ContainerState;
    }[];
  };
}

type ContainerStatus = NonNullable<NonNullable<PodLike['status']>['containerStatuses']>[number];
type Container = NonNullable<NonNullable<PodLike['spec']>['containers']>[number];
interface Context {
  pod: PodLike;
  now: Date;
}
type ContainerCheck = (c: ContainerStatus, spec: Container | undefined, ctx: Context) => PodProblem | undefined;

const IMAGE_PULL = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const CREATE_FAILED = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'PreStartHookError']);

export function describeProbe(p: Probe): string {
  if (p.httpGet) return `GET ${p.httpGet.path ?? '/'} on port ${String(p.httpGet.port)}`;
  if (p.tcpSocket) return `TCP port ${String(p.tcpSocket.port)}`;
  if (p.exec) return `exec ${(p.exec.command ?? []).join(' ')}`;
  return 'probe';
}

/** Seconds a probe needs, from the container's start, before its failures mean something. */
function probeBudgetSeconds(p: Probe): number {
  return (p.initialDelaySeconds ?? 0) + (p.periodSeconds ?? 10) * (p.failureThreshold ?? 3);
}

function runningForSeconds(c: ContainerStatus, now: Date): number | undefined {
  const at = c.state?.running?.startedAt;
  return at ? (now.getTime() - new Date(at).getTime()) / 1000 : undefined;
}

const imagePullFailing: ContainerCheck = (c, spec) => {
  const w = c.state?.waiting;
  if (!w?.reason || !IMAGE_PULL.has(w.reason)) return undefined;
  return { reason: 'ImagePullFailing', message: `image ${spec?.image ?? c.image ?? ''} of container ${c.name} cannot be pulled (${w.reason})` };
};

const createFailing: ContainerCheck = (c) => {
  const w = c.state?.waiting;
  if (!w?.reason || !CREATE_FAILED.has(w.reason)) return undefined;
  return { reason: 'ContainerCreateFailing', message: `container ${c.name} cannot be created (${w.reason}${w.message ? `: ${w.message}` : ''})` };
};

const crashing: ContainerCheck = (c) => {
  const last = c.lastState?.terminated;
  const backOff = c.state?.waiting?.reason === 'CrashLoopBackOff';
  if (!backOff && !(c.state?.terminated && (c.restartCount ?? 0) > 0)) return undefined;
  const t = last ?? c.state?.terminated;
  const detail = t ? ` (last exit code ${t.exitCode ?? '?'}${t.reason ? `, ${t.reason}` : ''})` : '';
  return { reason: 'ContainerCrashing', message: `container ${c.name} keeps exiting${detail}` };
};

const startupProbeFailing: ContainerCheck = (c, spec, { now }) => {
  const probe = spec?.startupProbe;
  if (!probe || c.started !== false) return undefined;
  const up = runningForSeconds(c, now);
  if (up === undefined || up <= probeBudgetSeconds(probe)) return undefined;
  return { reason: 'StartupProbeFailing', message: `startup probe ${describeProbe(probe)} failing (container ${c.name})` };
};

const readinessProbeFailing: ContainerCheck = (c, spec, { now }) => {
  const probe = spec?.readinessProbe;
  if (!probe || c.ready || c.started === false) return undefined;
  const up = runningForSeconds(c, now);
  // Readiness is probed once the startup probe passed; give it one round of its own.
  const budget = (probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * 2 + (spec?.startupProbe ? 0 : probeBudgetSeconds(probe));
  if (up === undefined || up <= budget) return undefined;
  return { reason: 'ReadinessProbeFailing', message: `readiness probe ${describeProbe(probe)} failing (container ${c.name})` };
};

/** Per container, in order: the first that has something to say. */
const containerChecks: ContainerCheck[] = [imagePullFailing, createFailing, crashing, startupProbeFailing, readinessProbeFailing];

/**
 * Where claims bind Immediately, every new pod of a StatefulSet with volume
 * claims starts Unschedulable until its claims are bound: that is a pod on its
 * way, worth reporting only once it lasts longer than the grace the caller
 * gives (the operator gives the progress deadline: provisioning a thousand
 * volumes at once takes minutes, and a claim that never binds is then
 * ProgressDeadlineExceeded with this message). This default where none is given.
 */
export const VOLUME_BINDING_GRACE_SECONDS = 60;

function unschedulable(pod: PodLike, now: Date, volumeBindingGraceSeconds: number): PodProblem | undefined {
  const c = (pod.status?.conditions ?? []).find((x) => x.type === 'PodScheduled' && x.status === 'False' && x.reason === 'Unschedulable');
  if (!c) return undefined;
  const created = pod.metadata.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : 0;
  const waitingForVolumes = /unbound immediate PersistentVolumeClaims/.test(c.message ?? '');
  if (waitingForVolumes && now.getTime() - created <= volumeBindingGraceSeconds * 1000) return undefined;
  return { reason: 'PodUnschedulable', message: `pod cannot be scheduled${c.message ? `: ${c.message}` : ''}` };
}

/** Why one pod is not ready, or undefined when it is ready or simply on its way. */
export function podProblem(pod: PodLike, now: Date, volumeBindingGraceSeconds = VOLUME_BINDING_GRACE_SECONDS): PodProblem | undefined {
  if (pod.metadata.deletionTimestamp) return undefined;
  const u = unschedulable(pod, now, volumeBindingGraceSeconds);
  if (u) return u;
  const specs = new Map((pod.spec?.containers ?? []).map((c) => [c.name, c]));
  for (const status of pod.status?.containerStatuses ?? []) {
    if (status.ready) continue;
    for (const check of containerChecks) {
      const p = check(status, specs.get(status.name), { pod, now });
      if (p) return p;
    }
  }
  return undefined;
}

/** The distinct problems of a set of pods, sorted by reason and message, so the summary is stable. */
export function podProblems(pods: PodLike[], now: Date, volumeBindingGraceSeconds = VOLUME_BINDING_GRACE_SECONDS): PodProblem[] {
  const seen = new Map<string, PodProblem>();
  for (const pod of pods) {
    const p = podProblem(pod, now, volumeBindingGraceSeconds);
    if (p) seen.set(`${p.reason}\0${p.message}`, p);
  }
  return [...seen.values()].sort((a, b) => a.reason.localeCompare(b.reason) || a.message.localeCompare(b.message));
}

/** Pods a workload selects (spec.selector.matchLabels) in its namespace. */
export function selectedPods<P extends PodLike & { metadata: { namespace?: string } }>(
  workload: { metadata: { namespace?: string }; spec?: { selector?: { matchLabels?: Record<string, string> } } },
  pods: P[],
): P[] {
  const match = workload.spec?.selector?.matchLabels;
  if (!match || Object.keys(match).length === 0) return [];
  return pods.filter((p) => p.metadata.namespace === workload.metadata.namespace && Object.entries(match).every(([k, v]) => p.metadata.labels?.[k] === v));
}

/** The workload controlling a pod, by its owner reference (a Deployment's pods name its ReplicaSet, `<deployment>-<pod-template-hash>`). */
export function podWorkload(pod: { metadata: { namespace?: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string; controller?: boolean }[] } }): { kind: string; key: string } | undefined {
  const ref = (pod.metadata.ownerReferences ?? []).find((r) => r.controller);
  if (!ref) return undefined;
  const ns = pod.metadata.namespace ?? '';
  if (ref.kind === 'StatefulSet' || ref.kind === 'DaemonSet') return { kind: ref.kind, key: `${ns}/${ref.name}` };
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (ref.kind === 'ReplicaSet' && hash && ref.name.endsWith(`-${hash}`)) return { kind: 'Deployment', key: `${ns}/${ref.name.slice(0, -hash.length - 1)}` };
  return undefined;
}

/**
 * What the operator's cache keeps of a pod: the fields read here and by the
 * manager (owner, labels, creation, deletion), the rest dropped (a pod's
 * spec and status are most of its size, and there is one per replica).
 */
export function podSummary(obj: KubeObject): KubeObject {
  const pod = obj as KubeObject & PodLike;
  const m = pod.metadata;
  const s = pod.status;
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      labels: m.labels,
      ownerReferences: m.ownerReferences,
      creationTimestamp: m.creationTimestamp,
      deletionTimestamp: m.deletionTimestamp,
    },
    spec: { containers: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image, startupProbe: c.startupProbe, readinessProbe: c.readinessProbe })) },
    status: s && {
      phase: s.phase,
      conditions: s.conditions?.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })),
      containerStatuses: s.containerStatuses?.map((c) => ({ name: c.name, ready: c.ready, started: c.started, restartCount: c.restartCount, image: c.image, state: c.state, lastState: c.lastState })),
    },
  };
}
