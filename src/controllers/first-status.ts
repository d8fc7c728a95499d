import { findCondition, type Condition } from '../runtime/conditions.ts';

// When a new resource's first status is written. A status that only says
// "on its way" (not Ready yet, nothing wrong) is followed moments later by
// Ready: two writes where one says it all. So a resource that has never had a
// status keeps it empty while its workloads roll out as they should, for up
// to a grace after they were created; kstatus (Argo CD, Flux) reads a status
// without observedGeneration as in progress, which it is. Ready, any problem,
// or a rollout that takes longer is written at once. Pure, tested as a table.

/** The operator's grace: short, so `kubectl get` is blank for seconds, not minutes. */
export const FIRST_STATUS_GRACE_SECONDS = 30;

export interface FirstStatus {
  /** The conditions written so far (undefined: none, the resource is new). */
  before: readonly Condition[] | undefined;
  /** The conditions this pass computed. */
  after: readonly Condition[];
  /** When the first of its workloads was created (undefined: none exists). */
  workloadsCreated: Date | undefined;
  now: Date;
  graceSeconds: number;
}

/** Milliseconds to hold the first status back, or undefined to write it now. */
export function firstStatusDelayMs(s: FirstStatus): number | undefined {
  if (findCondition(s.before, 'Ready') !== undefined || s.workloadsCreated === undefined) return undefined;
  const ready = findCondition(s.after, 'Ready');
  const degraded = findCondition(s.after, 'Degraded');
  // ReplicasNotReady is conditions.ts's verdict for pods on their way; a problem the pods show has a reason of its own.
  const onItsWay = ready?.status === 'False' && ready.reason === 'ReplicasNotReady' && degraded?.status !== 'True';
  if (!onItsWay) return undefined;
  const left = s.workloadsCreated.getTime() + s.graceSeconds * 1000 - s.now.getTime();
  return left > 0 ? left : undefined;
}
