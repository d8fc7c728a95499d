import { createHash } from 'node:crypto';

// Deciding whether a server-side apply is needed, so an unchanged resource
// costs no write. An apply is needed when the child is missing, when what we
// want differs from what we applied last time (the hash annotation: it catches
// fields we stopped setting), or when someone changed a field we own (the
// subset check: it catches hand edits).

export const APPLIED_HASH_ANNOTATION = 'alcor.dev/applied-hash';

/** Stable JSON: object keys sorted, so equal objects hash equally. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function hashObject(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

/**
 * True when every field of `want` is present in `have` with an equal value.
 * Lists compare element by element (same length), since the server keeps our
 * lists as we sent them.
 */
export function isSubset(want: unknown, have: unknown): boolean {
  if (want === have) return true;
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return false;
    return want.every((w, i) => isSubset(w, have[i]));
  }
  if (want && typeof want === 'object') {
    if (!have || typeof have !== 'object' || Array.isArray(have)) return false;
    const h = have as Record<string, unknown>;
    return Object.entries(want as Record<string, unknown>).every(([k, v]) => v === undefined || isSubset(v, h[k]));
  }
  // Quantities and ports may come back as strings or numbers of the same value.
  if ((typeof want === 'number' && typeof have === 'string') || (typeof want === 'string' && typeof have === 'number')) {
    return String(want) === String(have);
  }
  return false;
}

/** The object to apply: desired plus the hash of itself. */
export function withAppliedHash<T extends { metadata: { name: string; annotations?: Record<string, string> } }>(
  desired: T,
): T & { metadata: { annotations: Record<string, string> } } {
  const hash = hashObject(desired);
  return { ...desired, metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash } } };
}

/** Why a child must be applied, or undefined when it is as we want it. */
export function applyReason(desiredWithHash: { metadata: { name: string; annotations?: Record<string, string> } }, current: unknown): string | undefined {
  if (!current) return 'missing';
  const cur = current as { metadata?: { annotations?: Record<string, string> } };
  const want = desiredWithHash.metadata.annotations?.[APPLIED_HASH_ANNOTATION];
  if (cur.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] !== want) return 'desired state changed';
  const drift = firstDifference(desiredWithHash, current, '');
  return drift === undefined ? undefined : `drifted at ${drift || '(root)'}`;
}

/** Path of the first field of `want` that `have` lacks or differs in (isSubset's witness). */
export function firstDifference(want: unknown, have: unknown, path: string): string | undefined {
  if (isSubset(want, have)) return undefined;
  if (Array.isArray(want) && Array.isArray(have) && want.length === have.length) {
    for (let i = 0; i < want.length; i++) {
      const d = firstDifference(want[i], have[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
  }
  if (want && typeof want === 'object' && !Array.isArray(want) && have && typeof have === 'object' && !Array.isArray(have)) {
    for (const [k, v] of Object.entries(want as Record<string, unknown>)) {
      const d = firstDifference(v, (have as Record<string, unknown>)[k], `${path}.${k}`);
      if (d !== undefined) return d;
    }
  }
  return path;
}
