import type { Logger } from 'pino';
import { DhcpReservation, DhcpSubnet, formatIssues } from '../api/index.ts';
import type { ReconcileResult } from '../runtime/controller.ts';
import { setConditions, type Condition } from '../runtime/conditions.ts';
import { stableStringify } from '../runtime/diff.ts';
import { serverLeases } from './dhcp-reports.ts';
import { dhcpSubnetKind } from './dhcpsubnet.ts';
import { writeStatus, type ReconcileContext } from './reconcile.ts';
import { judgeReservations, reportsFor, reservationOutcome, reservationsOf, type ReservationOutcome } from './reservations.ts';
import { DhcpReservationType } from './resources.ts';

// DhcpReservation: no children of its own (the DhcpSubnet's ConfigMap carries
// it); its reconcile writes its status from its subnet and from what the
// subnet's servers report on their status Leases, and only when it changed.

/** The outcome for one reservation, from the caches. */
export function observeReservation(ctx: ReconcileContext, r: DhcpReservation): ReservationOutcome {
  const ns = r.metadata.namespace;
  const subnetName = r.spec.subnetRef.name;
  const raw = ctx.informers.get('DhcpSubnet')?.get(`${ns}/${subnetName}`);
  if (!raw || raw.metadata.deletionTimestamp) return reservationOutcome({ reservation: r, reports: [] });
  const parsed = DhcpSubnet.safeParse(raw);
  if (!parsed.success) {
    return reservationOutcome({ reservation: r, subnet: raw as unknown as DhcpSubnet, subnetProblem: `its spec is invalid: ${formatIssues(parsed.error)}`, reports: [] });
  }
  const subnet = parsed.data;
  const conflict = dhcpSubnetKind.conflict?.(subnet, ctx);
  if (conflict) return reservationOutcome({ reservation: r, subnet, subnetProblem: conflict.message, reports: [] });
  const judgement = judgeReservations(subnet, reservationsOf(ctx.informers.get('DhcpReservation')?.list() ?? [], ns, subnetName));
  const rejection = judgement.rejected.get(r.metadata.name);
  const reports = reportsFor(serverLeases(ctx.leases(), subnet), subnetName, r.metadata.name, r.spec.ip);
  return reservationOutcome({ reservation: r, subnet, ...(rejection ? { rejection } : {}), reports });
}

export async function reconcileReservation(ctx: ReconcileContext, key: string, log: Logger): Promise<ReconcileResult | void> {
  const obj = ctx.informers.get('DhcpReservation')?.get(key);
  if (!obj || obj.metadata.deletionTimestamp) return;
  const generation = obj.metadata.generation ?? 1;
  const parsed = DhcpReservation.safeParse(obj);
  const outcome: ReservationOutcome = parsed.success
    ? observeReservation(ctx, parsed.data)
    : { state: 'Rejected', reason: 'InvalidSpec', message: formatIssues(parsed.error), ready: false };
  const oldStatus = (obj['status'] ?? {}) as { conditions?: Condition[] } & Record<string, unknown>;
  const conditions = setConditions(
    oldStatus.conditions,
    [{ type: 'Ready', status: outcome.ready ? 'True' : 'False', reason: outcome.reason, message: outcome.message, observedGeneration: generation }],
    ctx.now(),
  );
  const status = {
    observedGeneration: generation,
    state: outcome.state,
    reason: outcome.reason,
    message: outcome.message,
    ...(outcome.expires !== undefined ? { expires: outcome.expires } : {}),
    ...(outcome.holder !== undefined ? { holder: outcome.holder } : {}),
    conditions,
  };
  if (stableStringify(status) === stableStringify(oldStatus)) return;
  await writeStatus(ctx.client, DhcpReservationType, obj, status);
  const oldState = oldStatus['state'];
  if (oldState !== outcome.state && (outcome.state === 'Conflict' || outcome.state === 'Rejected')) {
    void ctx.recorder.record(obj, { type: 'Warning', reason: outcome.reason, message: outcome.message });
  }
  log.info({ state: outcome.state, reason: outcome.reason }, 'status updated');
}
