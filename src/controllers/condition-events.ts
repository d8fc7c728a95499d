import { findCondition, transitions, type Condition } from '../runtime/conditions.ts';
import type { EventInput } from '../runtime/events.ts';

// Which condition changes become Events (what `kubectl describe` lists):
// transitions of a state already reported, those a user acts on. Becoming
// Ready, leaving Ready, and becoming (or staying, for a new reason) Degraded;
// not Progressing, which flips with every rollout. A resource's first status
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
  return undefined;
}

/** The Events for a status going from `before` to `after`, in condition order. */
export function conditionEvents(before: readonly Condition[] | undefined, after: readonly Condition[]): EventInput[] {
  return transitions(before, after).flatMap((c) => conditionEvent(c, before) ?? []);
}
