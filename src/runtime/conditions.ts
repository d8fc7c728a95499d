// Conditions the way apimachinery's meta.SetStatusCondition keeps them:
// lastTransitionTime moves only when the status flips.

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/**
 * Returns the new conditions list: `next` replaces conditions of the same
 * type, keeping the old lastTransitionTime when the status did not change.
 * Conditions of other types are kept, in their order.
 */
export function setConditions(current: readonly Condition[] | undefined, next: readonly ConditionInput[], now: Date): Condition[] {
  const result = [...(current ?? [])];
  for (const c of next) {
    const i = result.findIndex((x) => x.type === c.type);
    const old = i >= 0 ? result[i] : undefined;
    const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z');
    const merged: Condition = { ...c, lastTransitionTime };
    if (i >= 0) result[i] = merged;
    else result.push(merged);
  }
  return result;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Which conditions flipped status or reason between two lists (for Events). */
export function transitions(before: readonly Condition[] | undefined, after: readonly Condition[]): Condition[] {
  return after.filter((c) => {
    const old = findCondition(before, c.type);
    return !old || old.status !== c.status || old.reason !== c.reason;
  });
}
