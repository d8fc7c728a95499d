import type { ConditionInput } from '../runtime/conditions.ts';
import type { WorkloadUpgrade } from './rollout.ts';
import type { WorkloadState } from './workload.ts';

// Ready, Progressing and Degraded from what was observed, by a chain of small
// checks: the first that has something to say decides. Pure, so each case is
// a row in a table test.

export interface Observation {
  generation: number;
  /** The spec passed the CRD but not our full validation. */
  invalid?: string;
  /** The resource conflicts with another (e.g. overlapping subnets). */
  conflict?: { reason: string; message: string };
  /** Applying the children failed. */
  applyError?: string;
  /**
   * Something the servers report that needs a look while they keep serving
   * (e.g. frequent address conflicts): Degraded, Ready unchanged.
   */
  warning?: { reason: string; message: string };
  /** A server refused (part of) its config: the servers' words. */
  configRejected?: string;
  /** Servers that have not reported serving the current generation yet. */
  configPending?: string;
  /** Servers that cannot read the state they were given (written by a newer release): their own words. */
  blocked?: string;
  workloads: WorkloadState[];
  /** Since when the resource has been not Ready (the Ready condition's last transition). */
  notReadySince?: Date;
  /** The Progressing condition as last written: since when a rollout has been on, or that it ran out of time. */
  lastProgressing?: { status: 'True' | 'False' | 'Unknown'; reason: string; since: Date; observedGeneration?: number };
  now: Date;
  /** How long a rollout may take before the resource counts as Degraded. */
  progressDeadlineSeconds: number;
}

type Verdict = { ready: [string, string]; progressing: [boolean, string, string]; degraded: [boolean, string, string] };

type Check = (o: Observation) => Verdict | undefined;

const invalidSpec: Check = (o) =>
  o.invalid === undefined
    ? undefined
    : { ready: ['InvalidSpec', o.invalid], progressing: [false, 'InvalidSpec', o.invalid], degraded: [true, 'InvalidSpec', o.invalid] };

const conflicting: Check = (o) =>
  o.conflict === undefined
    ? undefined
    : { ready: [o.conflict.reason, o.conflict.message], progressing: [false, o.conflict.reason, o.conflict.message], degraded: [true, o.conflict.reason, o.conflict.message] };

const applyFailed: Check = (o) =>
  o.applyError === undefined
    ? undefined
    : { ready: ['ApplyFailed', o.applyError], progressing: [false, 'ApplyFailed', o.applyError], degraded: [true, 'ApplyFailed', o.applyError] };

// What a server refuses is not served, whatever the pods say: not Ready.
const configRejected: Check = (o) =>
  o.configRejected === undefined
    ? undefined
    : { ready: ['ConfigRejected', o.configRejected], progressing: [false, 'ConfigRejected', o.configRejected], degraded: [true, 'ConfigRejected', o.configRejected] };

/** Every workload serves with at most one replica away: what a roll one replica at a time keeps. */
function serving(o: Observation): boolean {
  return o.workloads.every((w) => w.observed && w.ready >= Math.max(1, w.desired - 1));
}

/**
 * What rolls, from what to what; for a StatefulSet, which replicas are done
 * and which to go (its ordinals: one status write per step). A Deployment's
 * or DaemonSet's pods have names of no meaning and come and go by the
 * dozen: no list, so its roll costs two status writes, start and end.
 */
function describeUpgrade(u: WorkloadUpgrade): string {
  const what = u.from.length === 0 || (u.from.length === 1 && u.from[0] === u.to) ? `rolling its replicas (${u.to})` : `upgrading from ${u.from.join(', ')} to ${u.to}`;
  if (u.kind !== 'StatefulSet') return `${u.kind} ${u.name}: ${what}, ${u.kind === 'Deployment' ? 'a new replica serving before an old one goes' : 'one node at a time'}`;
  return `${u.kind} ${u.name}: ${what}, one replica at a time; done: ${u.done.join(', ') || 'none yet'}; to go: ${u.toGo.join(', ') || 'none'}`;
}

// A new replica that cannot take over (it cannot read the state the old one
// left, or keeps failing) stops the roll there; the old replicas keep
// serving. Also a server that cannot read its state outside a roll (a
// rollback to a release older than the state).
const upgradeBlocked: Check = (o) => {
  const stuck = o.workloads.flatMap((w) =>
    w.upgrade?.blocked ? [`${w.kind} ${w.name}: the upgrade to ${w.upgrade.to} is stopped at ${w.upgrade.blocked}; the replicas not yet replaced keep serving`] : [],
  );
  if (stuck.length === 0 && o.blocked !== undefined) stuck.push(o.blocked);
  if (stuck.length === 0) return undefined;
  const msg = stuck.join('; ');
  return { ready: serving(o) ? ['ReplicasReady', 'served by the replicas not yet replaced'] : ['UpgradeBlocked', msg], progressing: [false, 'UpgradeBlocked', msg], degraded: [true, 'UpgradeBlocked', msg] };
};

// Replicas rolling to a new template, one at a time: Ready while every
// workload has at most one replica away, Progressing/Upgrading with what
// runs where, Degraded once it takes longer than the deadline (counted from
// when Progressing turned True; once past, it stays past until the roll ends).
const upgrading: Check = (o) => {
  const upgrades = o.workloads.flatMap((w) => (w.upgrade ? [w.upgrade] : []));
  if (upgrades.length === 0) return undefined;
  const msg = upgrades.map(describeUpgrade).join('; ');
  // No counts in Ready's message while the replicas roll: each pod would be one more status write.
  const ready: [string, string] = serving(o) ? ['ReplicasReady', 'serving while the replicas roll, at most one away at a time'] : ['ReplicasNotReady', msg];
  const p = o.lastProgressing;
  const overdue = p?.status === 'True' && p.reason === 'Upgrading' && o.now.getTime() - p.since.getTime() > o.progressDeadlineSeconds * 1000;
  if (overdue || (p?.status === 'False' && p.reason === 'ProgressDeadlineExceeded')) {
    return { ready, progressing: [false, 'ProgressDeadlineExceeded', msg], degraded: [true, 'ProgressDeadlineExceeded', `not upgraded within ${o.progressDeadlineSeconds}s: ${msg}`] };
  }
  return { ready, progressing: [true, 'Upgrading', msg], degraded: [false, 'AsExpected', ''] };
};

const workloadsNotReady: Check = (o) => {
  if (o.workloads.length === 0) {
    const msg = 'waiting for the workload to be created';
    return { ready: ['WorkloadMissing', msg], progressing: [true, 'Creating', msg], degraded: [false, 'AsExpected', ''] };
  }
  const notReady = o.workloads.filter((w) => !w.observed || w.ready < w.desired || w.updated < w.desired);
  if (notReady.length === 0) return undefined;
  // No counts in the message: they change with every pod, and each change
  // would be one more status write. The workloads show their counts. When
  // the pods say why, the reason and message are theirs.
  const msg = notReady
    .map((w) => (w.problems.length ? `${w.kind} ${w.name}: pods not ready: ${w.problems.map((p) => p.message).join('; ')}` : `${w.kind} ${w.name} is not ready yet`))
    .join('; ');
  const why = notReady.find((w) => w.problems.length)?.problems[0]?.reason;
  const stuckSince = o.notReadySince ?? o.now;
  const overdue = o.now.getTime() - stuckSince.getTime() > o.progressDeadlineSeconds * 1000;
  const deadline = notReady.some((w) => w.progressDeadlineExceeded) || overdue;
  return {
    ready: [why ?? 'ReplicasNotReady', msg],
    progressing: [!deadline, deadline ? 'ProgressDeadlineExceeded' : 'RollingOut', msg],
    degraded: deadline
      ? [true, 'ProgressDeadlineExceeded', `not ready for over ${o.progressDeadlineSeconds}s: ${notReady.map((w) => `${w.kind} ${w.name}: ${w.ready}/${w.desired} ready`).join('; ')}`]
      : [false, 'AsExpected', ''],
  };
};

// A server that never reports the current generation (a reload stuck, a
// Lease it cannot write) must not leave the resource Progressing for ever:
// past the deadline, counted from when Progressing turned True, it is
// Degraded like a stuck rollout. The pods still serve what they had, so
// Ready holds. Once past, it stays past at this generation: the verdict does
// not flap back to Progressing with a fresh clock.
const configOverdue: Check = (o) => {
  if (o.configPending === undefined) return undefined;
  const p = o.lastProgressing;
  const stillOverdue = p?.status === 'False' && p.reason === 'ProgressDeadlineExceeded' && p.observedGeneration === o.generation;
  const overdue = p?.status === 'True' && o.now.getTime() - p.since.getTime() > o.progressDeadlineSeconds * 1000;
  if (!stillOverdue && !overdue) return undefined;
  return {
    ready: ['ReplicasReady', replicasReady(o)],
    progressing: [false, 'ProgressDeadlineExceeded', o.configPending],
    degraded: [true, 'ProgressDeadlineExceeded', `config generation ${o.generation} not applied by every server within ${o.progressDeadlineSeconds}s: ${o.configPending}`],
  };
};

// The pods are ready and serve the config they have; a new one is on its way to them.
const configPending: Check = (o) =>
  o.configPending === undefined
    ? undefined
    : { ready: ['ReplicasReady', replicasReady(o)], progressing: [true, 'ApplyingConfig', o.configPending], degraded: [false, 'AsExpected', ''] };

function replicasReady(o: Observation): string {
  return o.workloads.map((w) => `${w.kind} ${w.name}: ${w.ready}/${w.desired} ready`).join('; ');
}

/** In order: the first that has something to say decides. */
const checks: Check[] = [invalidSpec, conflicting, applyFailed, upgradeBlocked, configRejected, upgrading, workloadsNotReady, configOverdue, configPending];

export function computeConditions(o: Observation): ConditionInput[] {
  const verdict = checks.reduce<Verdict | undefined>((found, check) => found ?? check(o), undefined) ?? {
    ready: ['ReplicasReady', replicasReady(o)],
    progressing: [false, 'RolloutComplete', 'all replicas are up to date'],
    degraded: [false, 'AsExpected', ''],
  };
  const g = o.generation;
  const ready = verdict.ready[0] === 'ReplicasReady';
  if (!verdict.degraded[0] && o.warning) verdict.degraded = [true, o.warning.reason, o.warning.message];
  return [
    { type: 'Ready', status: ready ? 'True' : 'False', reason: verdict.ready[0], message: verdict.ready[1], observedGeneration: g },
    { type: 'Progressing', status: verdict.progressing[0] ? 'True' : 'False', reason: verdict.progressing[1], message: verdict.progressing[2], observedGeneration: g },
    { type: 'Degraded', status: verdict.degraded[0] ? 'True' : 'False', reason: verdict.degraded[1], message: verdict.degraded[2], observedGeneration: g },
  ];
}
