import { findCondition, transitions, type Condition } from '../runtime/conditions.ts';
import type { EventInput } from '../runtime/events.ts';

// Which condition changes become Events (what `kubectl describe` lists):
// transitions of a state already reported, those a user acts on. Becoming
// Ready, leaving Ready, and becoming (or staying, for a new reason) Degraded;
// not Progressing, which flips with every rollout, except the start and end of
// an upgrade (replicas rolling to a new release or image), which belong in
// the record of a cluster's changes. A resource's first status
// is no transition: the status itself says it (a new resource that comes up
// costs one status write and no Event), except a first Degraded, which a user
// must act on. Pure: the reconcile records what this returns.

/** The Event for one condition that flipped status or reason, or undefined when it deserves none. */
export function conditionEvent(changed: Condition, before: readonly Condition[] | undefined): EventInput | undefined {
  const message = changed.message || `${changed.type} is ${changed.status}`;
  if (changed.type === 'Ready') {
    if (findCondition(before, 'Ready') === undefined) return undefined;
    return changed.status === 'True' ? { type: 'Normal', reason: changed.reason, message } : { type: 'Warning', reason: changed.reason, message };
  }
  if (changed.type === 'Degraded' && changed.status === 'True') return { type: 'Warning', reason: changed.reason, message };
  if (changed.type === 'Progressing' && findCondition(before, 'Progressing') !== undefined) {
    if (changed.reason === 'Upgrading') return { type: 'Normal', reason: 'Upgrading', message };
    if (findCondition(before, 'Progressing')?.reason === 'Upgrading' && changed.reason === 'RolloutComplete') return { type: 'Normal', reason: 'Upgraded', message: 'every replica runs the new pod template and serves' };
  }
  return undefined;
}

/** The Events for a status going from `before` to `after`, in condition order. */
export function conditionEvents(before: readonly Condition[] | undefined, after: readonly Condition[]): EventInput[] {
  return transitions(before, after).flatMap((c) => conditionEvent(c, before) ?? []);
}
