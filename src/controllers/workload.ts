import type { PodProblem } from './pods.ts';
import type { WorkloadUpgrade } from './rollout.ts';

// What a user wants to know of a workload child: how many replicas are wanted,
// ready and up to date, and whether the controller has seen the latest spec.
// Pure functions over the objects as the API server returns them.

export interface WorkloadState {
  kind: string;
  name: string;
  desired: number;
  ready: number;
  updated: number;
  /**
   * The workload's controller has reported on it: its counts speak for its
   * pods. Not necessarily for its latest spec: a change (a new template, a
   * partition step) is acted on moments later, and until then the pods are
   * still as last reported, which is what Ready says.
   */
  observed: boolean;
  /** Deployment's own verdict that its rollout is stuck. */
  progressDeadlineExceeded: boolean;
  /** Why pods are missing or not ready: the Deployment's ReplicaFailure, then what the pods say (src/controllers/pods.ts). */
  problems: PodProblem[];
  /** Set while its replicas roll to a new pod template (rollout.ts). */
  upgrade?: WorkloadUpgrade;
}

interface WorkloadLike {
  kind: string;
  metadata: { name: string; generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    desiredNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export function workloadState(obj: WorkloadLike): WorkloadState {
  const s = obj.status ?? {};
  const observed = (s.observedGeneration ?? 0) >= 1;
  if (obj.kind === 'DaemonSet') {
    return {
      kind: obj.kind,
      name: obj.metadata.name,
      desired: s.desiredNumberScheduled ?? 0,
      ready: s.numberReady ?? 0,
      updated: s.updatedNumberScheduled ?? 0,
      observed,
      progressDeadlineExceeded: false,
      problems: [],
    };
  }
  const desired = obj.spec?.replicas ?? 1;
  const ready = obj.kind === 'Deployment' ? (s.availableReplicas ?? 0) : (s.readyReplicas ?? 0);
  return {
    kind: obj.kind,
    name: obj.metadata.name,
    desired,
    ready,
    updated: s.updatedReplicas ?? 0,
    observed,
    progressDeadlineExceeded: (s.conditions ?? []).some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded'),
    problems: (s.conditions ?? [])
      .filter((c) => c.type === 'ReplicaFailure' && c.status === 'True')
      .map((c) => ({ reason: 'ReplicaFailure', message: `pods cannot be created: ${c.message ?? c.reason ?? ''}` })),
  };
}

export const WORKLOAD_KINDS = new Set(['StatefulSet', 'Deployment', 'DaemonSet']);
