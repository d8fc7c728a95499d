import type { z } from 'zod';
import { readReport, type DhcpdReport, type MacdReport } from '../api/leases.ts';
import type { KubeObject } from '../runtime/client.ts';
import type { ReplicaState } from './rollout.ts';

// What the servers of a resource report on their Leases (src/api/leases.ts),
// turned into what status says: capacity and use from what is served, the
// replicas still on an older config (Progressing), and the parts of the
// config a server refused (Degraded, ConfigRejected). Pure: Leases in,
// figures and messages out.

/** A server's report, by the name of the Lease it keeps (the replica's). */
export type Reports<R> = Map<string, R>;

/** The reports on the Leases of one resource: same namespace, `label` = its name. */
export function reportsOf<S extends typeof MacdReport | typeof DhcpdReport>(
  schema: S,
  leases: readonly KubeObject[],
  owner: { namespace?: string; name: string },
  label: string,
): Reports<z.infer<S>> {
  const out: Reports<z.infer<S>> = new Map();
  for (const lease of leases) {
    if (lease.metadata.namespace !== owner.namespace || lease.metadata.labels?.[label] !== owner.name) continue;
    const report = readReport(schema, lease.metadata.annotations);
    if (report) out.set(lease.metadata.name, report);
  }
  return out;
}

/**
 * The replicas expected to serve: their names when they are known (a
 * StatefulSet's pods), else how many there should be (a DaemonSet's).
 */
export type Expected = { names: string[] } | { count: number };

export interface ServedVerdict {
  /** The servers' own words for what they refuse of their config. */
  refused?: string;
  /** Who has not applied the current generation yet. */
  pending?: string;
  /** Who cannot read the state it was given, in its own words (a release older than its data). */
  blocked?: string;
}

/** The reports that speak for the expected replicas (all of them when only a count is known). */
export function currentReports<R>(reports: Reports<R>, expected: Expected): [string, R][] {
  if ('count' in expected) return [...reports];
  return expected.names.flatMap((n) => {
    const r = reports.get(n);
    return r ? [[n, r] as [string, R]] : [];
  });
}

export function servedVerdict(reports: Reports<MacdReport | DhcpdReport>, expected: Expected, generation: number): ServedVerdict {
  const current = currentReports(reports, expected);
  // Each refusal once, with the replicas that refuse it.
  const byPart = new Map<string, string[]>();
  // A blocked server repeats why in `refused` (for operators older than `blocked`): said once, as blocked.
  for (const [name, r] of current) for (const part of r.refused) if (!r.blocked || !part.includes(r.blocked)) byPart.set(part, [...(byPart.get(part) ?? []), name]);
  const blocked = current.flatMap(([name, r]) => (r.blocked ? [`${name}: ${r.blocked}`] : [])).join('; ');
  const refused = [...byPart].map(([part, names]) => `${names.join(', ')}: ${part}`).join('; ');

  let pending: string | undefined;
  if ('names' in expected) {
    const behind = expected.names.filter((n) => (reports.get(n)?.generation ?? -1) < generation);
    if (behind.length > 0) pending = `waiting for ${behind.join(', ')} to report serving generation ${generation}`;
  } else {
    const applied = current.filter(([, r]) => r.generation >= generation).length;
    if (applied < expected.count) pending = `${applied} of ${expected.count} servers report serving generation ${generation}`;
  }
  return { ...(refused ? { refused } : {}), ...(pending ? { pending } : {}), ...(blocked ? { blocked } : {}) };
}

/**
 * Whether a (Ready) replica serves, from its report (rollout.ts): one that
 * cannot read its state is blocked; one whose report still comes from the pod
 * it replaced (servers since 0.3.0 name their pod) is starting. A report
 * naming no pod (an older server), or none at all (a server that cannot
 * report, kwok's pods), leaves it to the pod's readiness.
 */
export function replicaFromReport(report: MacdReport | DhcpdReport | undefined, pod: { metadata: { uid?: string } }): ReplicaState {
  if (report?.blocked) return { state: 'blocked', message: report.blocked };
  if (report?.pod !== undefined && pod.metadata.uid !== undefined && report.pod !== pod.metadata.uid) return { state: 'starting' };
  return { state: 'serving' };
}
