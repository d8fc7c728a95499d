import { kinds } from '../api/index.ts';

// The Prometheus rules we ship, in one place: `npm run generate:monitoring`
// writes them as a plain rules file (monitoring/alcor-operator.rules.yaml) and
// as the chart's PrometheusRule template; a test fails when either drifts.
// Every alert has a runbook, docs/runbooks/<alert>.md, and a promtool test
// (test/monitoring/alerts.promtool.yaml) where it fires and where it does not.
//
// The operator's per-resource gauges are exported by every replica (each has
// warm caches), so expressions take max by (kind, namespace, name): one series
// per resource, the same across a leader change.

export type Severity = 'warning' | 'critical';

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  severity: Severity;
  summary: string;
  /** Prometheus template text ({{ $labels.x }}, {{ $value }}). */
  description: string;
  /** The threshold in words, for the docs and the report. */
  threshold: string;
  /** Only meaningful when the operator runs with --leader-elect (the chart's default). */
  needsLeaderElection?: boolean;
}

/** The operator's default --leader-election-id. */
export const DEFAULT_LEADER_ELECTION_ID = 'alcor-operator-leader';
/** Where docs/runbooks/ is published; the chart's metrics.prometheusRule.runbookBaseURL overrides it. */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/alcor-dev/alcor-operator/blob/main/docs/runbooks';

export const UTILIZATION_WARNING = 0.85;
export const FILLING_UP_MIN_UTILIZATION = 0.5;
/** Drop reasons that are normal operation: another replica or server answers. */
export const BENIGN_DROP_REASONS = ['ha-other-replica', 'not-selected', 'not-for-this-server', 'server-message'];
export const DROP_RATE_PER_SECOND = 0.1;
export const FLUSH_P99_SECONDS = 0.1;

/** controller label values of our controllers: the kinds' names in lower case (src/controllers/manager.ts). */
const controllers = Object.values(kinds)
  .map((k) => k.kind.toLowerCase())
  .join('|');

const resource = 'kind, namespace, name';
const who = '{{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }}';

export const recordingRules: RecordingRule[] = [
  { record: 'resource:alcor_pool_capacity_addresses:max', expr: `max by (${resource}) (alcor_pool_capacity_addresses)` },
  { record: 'resource:alcor_pool_allocated_addresses:max', expr: `max by (${resource}) (alcor_pool_allocated_addresses)` },
  { record: 'resource:alcor_pool_available_addresses:max', expr: `max by (${resource}) (alcor_pool_available_addresses)` },
  {
    record: 'resource:alcor_pool_utilization:ratio',
    expr: 'resource:alcor_pool_allocated_addresses:max / (resource:alcor_pool_capacity_addresses:max > 0)',
  },
];

export function alertRules(leaderElectionId = DEFAULT_LEADER_ELECTION_ID): AlertRule[] {
  return [
    {
      alert: 'AlcorPoolUtilizationHigh',
      expr: `resource:alcor_pool_utilization:ratio > ${UTILIZATION_WARNING}`,
      for: '10m',
      severity: 'warning',
      summary: 'A MacPool or DhcpSubnet is more than 85 % used.',
      description: `${who} has {{ $value | humanizePercentage }} of its addresses in use.`,
      threshold: `allocated / capacity > ${UTILIZATION_WARNING * 100} % for 10 min`,
    },
    {
      alert: 'AlcorPoolExhausted',
      expr: 'resource:alcor_pool_available_addresses:max == 0 and on (kind, namespace, name) resource:alcor_pool_capacity_addresses:max > 0',
      for: '1m',
      severity: 'critical',
      summary: 'A MacPool or DhcpSubnet has no free address left.',
      description: `${who} is full: every address is in use, new allocations or leases are refused.`,
      threshold: 'available = 0 (100 % used) for 1 min',
    },
    {
      alert: 'AlcorPoolFillingUp',
      // Only once half used: on a new or tiny pool, the first few allocations
      // extrapolate to "full tomorrow".
      expr: `predict_linear(resource:alcor_pool_available_addresses:max[6h], 24 * 3600) < 0 and on (kind, namespace, name) resource:alcor_pool_available_addresses:max > 0 and on (kind, namespace, name) resource:alcor_pool_utilization:ratio > ${FILLING_UP_MIN_UTILIZATION}`,
      for: '1h',
      severity: 'warning',
      summary: 'A MacPool or DhcpSubnet will run out of addresses within 24 hours.',
      description: `At the rate of the last 6 hours, ${who} runs out of addresses within 24 hours ({{ $labels.kind }} status.available is falling).`,
      threshold: `predict_linear(available over 6 h, +24 h) < 0 and more than ${FILLING_UP_MIN_UTILIZATION * 100} % used, for 1 h`,
    },
    {
      alert: 'AlcorDhcpdDropsHigh',
      expr: `sum by (namespace, reason) (rate(alcor_dhcpd_drops_total{reason!~"${BENIGN_DROP_REASONS.join('|')}"}[5m])) > ${DROP_RATE_PER_SECOND}`,
      for: '10m',
      severity: 'warning',
      summary: 'dhcpd drops DHCP messages without an answer.',
      description: 'dhcpd in namespace {{ $labels.namespace }} drops {{ $value | humanize }} messages/s for reason {{ $labels.reason }}.',
      threshold: `more than ${DROP_RATE_PER_SECOND} drops/s of one reason (not ${BENIGN_DROP_REASONS.join(', ')}) for 10 min`,
    },
    {
      alert: 'AlcorDhcpdLeaseLogSlow',
      expr: `histogram_quantile(0.99, rate(alcor_dhcpd_lease_log_flush_seconds_bucket[5m])) > ${FLUSH_P99_SECONDS}`,
      for: '10m',
      severity: 'warning',
      summary: "dhcpd's lease log writes are slow (p99).",
      description: 'The lease-log group commit of dhcpd {{ $labels.namespace }}/{{ $labels.pod }} takes {{ $value | humanizeDuration }} at p99; every ACK waits for it.',
      threshold: `p99 of one lease-log flush > ${FLUSH_P99_SECONDS * 1000} ms over 5 min, for 10 min`,
    },
    {
      alert: 'AlcorMacdLogFsyncSlow',
      expr: `histogram_quantile(0.99, rate(alcor_macd_log_flush_seconds_bucket[5m])) > ${FLUSH_P99_SECONDS}`,
      for: '10m',
      severity: 'warning',
      summary: "macd's allocation log fsync is slow (p99).",
      description: 'The log group commit (write + fdatasync) of macd {{ $labels.namespace }}/{{ $labels.pod }} takes {{ $value | humanizeDuration }} at p99; every allocation waits for it.',
      threshold: `p99 of one log write + fdatasync > ${FLUSH_P99_SECONDS * 1000} ms over 5 min, for 10 min`,
    },
    {
      alert: 'AlcorReplicasNotReady',
      expr: `max by (${resource}) (alcor_resource_ready_replicas) < max by (${resource}) (alcor_resource_replicas)`,
      for: '10m',
      severity: 'warning',
      summary: 'Pods of a MacPool, DhcpSubnet or DataPlaneManager are not ready.',
      description: `${who} has {{ $value }} ready pods, fewer than it wants (macd, dhcpd or DPM pods).`,
      threshold: 'ready pods < desired pods for 10 min',
    },
    {
      alert: 'AlcorResourceDegraded',
      expr: `max by (${resource}) (alcor_resource_condition{type="Degraded", status="True"}) == 1`,
      for: '10m',
      severity: 'warning',
      summary: 'A MacPool, DhcpSubnet or DataPlaneManager is Degraded.',
      description: `${who} has been Degraded for more than 10 minutes; kubectl describe shows the reason.`,
      threshold: 'condition Degraded=True for 10 min',
    },
    {
      alert: 'AlcorOperatorReconcileErrors',
      expr: `sum by (namespace, controller) (rate(controller_runtime_reconcile_errors_total{controller=~"${controllers}"}[5m])) > 0`,
      for: '15m',
      severity: 'warning',
      summary: 'The operator keeps failing to reconcile.',
      description: 'The {{ $labels.controller }} controller of the operator in {{ $labels.namespace }} has failed reconciles for 15 minutes ({{ $value | humanize }}/s).',
      threshold: 'reconcile errors > 0/s in every 5 min window for 15 min',
    },
    {
      alert: 'AlcorOperatorNoLeader',
      expr: `absent(leader_election_master_status{name="${leaderElectionId}"} == 1)`,
      for: '5m',
      severity: 'critical',
      summary: 'No alcor-operator replica is the leader: nothing is reconciled.',
      description: `No replica of the operator holds the Lease ${leaderElectionId} (or none is running or scraped): MacPools, DhcpSubnets and DataPlaneManagers are not reconciled and their status is not updated.`,
      threshold: 'no replica reports leader_election_master_status = 1 for 5 min',
      needsLeaderElection: true,
    },
  ];
}

export interface RuleOptions {
  runbookBaseUrl?: string;
  leaderElectionId?: string;
}

export interface PrometheusAlert {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: Severity };
  annotations: { summary: string; description: string; runbook_url: string };
}
export type PrometheusRule = RecordingRule | PrometheusAlert;
export interface RuleGroups {
  groups: { name: string; rules: PrometheusRule[] }[];
}

/** The rule groups in Prometheus's rules-file shape (also a PrometheusRule's spec). */
export function ruleGroups(o: RuleOptions = {}): RuleGroups {
  const base = (o.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL).replace(/\/+$/, '');
  return {
    groups: [
      { name: 'alcor-operator.rules', rules: recordingRules.map((r) => ({ record: r.record, expr: r.expr })) },
      {
        name: 'alcor-operator.alerts',
        rules: alertRules(o.leaderElectionId).map((a) => ({
          alert: a.alert,
          expr: a.expr,
          for: a.for,
          labels: { severity: a.severity },
          annotations: { summary: a.summary, description: a.description, runbook_url: `${base}/${a.alert}.md` },
        })),
      },
    ],
  };
}
