// The Grafana dashboard we ship: pools and subnets (utilization, allocations
// and leases per second, latency, drops) and the operator (queue depth,
// reconcile rate, errors, API writes). `npm run generate:monitoring` writes it
// to monitoring/alcor-operator.dashboard.json and the chart's copy; the e2e
// test (e2e/monitoring.test.ts) runs every panel's query on a real Prometheus.

export interface Target {
  expr: string;
  legend: string;
}

export interface Panel {
  title: string;
  description: string;
  type: 'timeseries' | 'stat';
  unit: string;
  targets: Target[];
  /** Threshold steps [value, color] above the base (green). */
  thresholds?: [number, string][];
}

export interface Row {
  title: string;
  panels: Panel[];
}

/** Resource namespace ($namespace) and the operator's scrape job ($job), Grafana variables. */
const ns = 'namespace=~"$namespace"';
const op = 'job=~"$job"';
const rate = '$__rate_interval';
const byResource = 'max by (kind, namespace, name)';
const resourceLegend = '{{kind}} {{namespace}}/{{name}}';

export const rows: Row[] = [
  {
    title: 'MAC pools and DHCP subnets',
    panels: [
      {
        title: 'Address utilization',
        description: 'Allocated (MacPool) or leased (DhcpSubnet) over capacity, from status. Alerts at 85 % and 100 %.',
        type: 'timeseries',
        unit: 'percentunit',
        targets: [{ expr: `${byResource} (alcor_pool_allocated_addresses{${ns}}) / ${byResource} (alcor_pool_capacity_addresses{${ns}} > 0)`, legend: resourceLegend }],
        thresholds: [
          [0.85, 'orange'],
          [1, 'red'],
        ],
      },
      {
        title: 'Free addresses',
        description: 'status.available of each MacPool and DhcpSubnet.',
        type: 'timeseries',
        unit: 'short',
        targets: [{ expr: `${byResource} (alcor_pool_available_addresses{${ns}})`, legend: resourceLegend }],
      },
      {
        title: 'Resources not Ready / Degraded',
        description: 'MacPools, DhcpSubnets and DataPlaneManagers whose Ready condition is False, and those Degraded.',
        type: 'stat',
        unit: 'short',
        targets: [
          { expr: `count(${byResource} (alcor_resource_condition{${ns}, type="Ready", status="False"}) == 1) or vector(0)`, legend: 'not Ready' },
          { expr: `count(${byResource} (alcor_resource_condition{${ns}, type="Degraded", status="True"}) == 1) or vector(0)`, legend: 'Degraded' },
        ],
        thresholds: [[1, 'red']],
      },
      {
        title: 'Ready pods',
        description: 'Ready pods of the macd, dhcpd and DPM workloads each resource owns, beside the desired count.',
        type: 'timeseries',
        unit: 'short',
        targets: [
          { expr: `${byResource} (alcor_resource_ready_replicas{${ns}})`, legend: `ready ${resourceLegend}` },
          { expr: `${byResource} (alcor_resource_replicas{${ns}})`, legend: `desired ${resourceLegend}` },
        ],
      },
      {
        title: 'MAC allocations and releases per second',
        description: 'Per macd pod.',
        type: 'timeseries',
        unit: 'ops',
        targets: [
          { expr: `sum by (namespace, pod) (rate(alcor_macd_allocations_total{${ns}}[${rate}]))`, legend: 'allocated {{namespace}}/{{pod}}' },
          { expr: `sum by (namespace, pod) (rate(alcor_macd_releases_total{${ns}}[${rate}]))`, legend: 'released {{namespace}}/{{pod}}' },
        ],
      },
      {
        title: 'macd refused requests per second',
        description: 'By reason (pool_full, already_allocated, ...).',
        type: 'timeseries',
        unit: 'ops',
        targets: [{ expr: `sum by (namespace, reason) (rate(alcor_macd_errors_total{${ns}}[${rate}]))`, legend: '{{namespace}} {{reason}}' }],
      },
      {
        title: 'macd request latency p99',
        description: 'Including the log fsync, per pod and route.',
        type: 'timeseries',
        unit: 's',
        targets: [
          {
            expr: `histogram_quantile(0.99, sum by (namespace, pod, route, le) (rate(alcor_macd_request_duration_seconds_bucket{${ns}}[${rate}])))`,
            legend: '{{namespace}}/{{pod}} {{route}}',
          },
        ],
      },
      {
        title: 'DHCP leases granted per second',
        description: 'ACKs sent, per dhcpd pod.',
        type: 'timeseries',
        unit: 'ops',
        targets: [{ expr: `sum by (namespace, pod) (rate(alcor_dhcpd_packets_sent_total{${ns}, type="ack"}[${rate}]))`, legend: '{{namespace}}/{{pod}}' }],
      },
      {
        title: 'DHCP leases by state',
        description: 'Bound, offered and quarantined (conflicting) addresses per subnet, summed over the replicas.',
        type: 'timeseries',
        unit: 'short',
        targets: [{ expr: `sum by (namespace, subnet, state) (alcor_dhcpd_leases{${ns}})`, legend: '{{namespace}}/{{subnet}} {{state}}' }],
      },
      {
        title: 'DHCP drops per second by reason',
        description: 'Messages that got no answer. ha-other-replica and not-selected are normal with several servers.',
        type: 'timeseries',
        unit: 'ops',
        targets: [{ expr: `sum by (namespace, reason) (rate(alcor_dhcpd_drops_total{${ns}}[${rate}]))`, legend: '{{namespace}} {{reason}}' }],
      },
      {
        title: 'dhcpd reply latency p99',
        description: 'From receiving a message to sending its reply, including the lease-log flush.',
        type: 'timeseries',
        unit: 's',
        targets: [
          {
            expr: `histogram_quantile(0.99, sum by (namespace, pod, le) (rate(alcor_dhcpd_reply_duration_seconds_bucket{${ns}}[${rate}])))`,
            legend: '{{namespace}}/{{pod}}',
          },
        ],
      },
      {
        title: 'Log flush p99 (macd fsync, dhcpd lease log)',
        description: 'One group commit of the durable log; alert above 100 ms.',
        type: 'timeseries',
        unit: 's',
        targets: [
          { expr: `histogram_quantile(0.99, sum by (namespace, pod, le) (rate(alcor_macd_log_flush_seconds_bucket{${ns}}[${rate}])))`, legend: 'macd {{namespace}}/{{pod}}' },
          { expr: `histogram_quantile(0.99, sum by (namespace, pod, le) (rate(alcor_dhcpd_lease_log_flush_seconds_bucket{${ns}}[${rate}])))`, legend: 'dhcpd {{namespace}}/{{pod}}' },
        ],
        thresholds: [[0.1, 'red']],
      },
    ],
  },
  {
    title: 'Operator',
    panels: [
      {
        title: 'Leader',
        description: '1 for the replica that holds the leader Lease and reconciles.',
        type: 'timeseries',
        unit: 'short',
        targets: [{ expr: `max by (instance) (leader_election_master_status{${op}})`, legend: '{{instance}}' }],
      },
      {
        title: 'Work queue depth',
        description: 'Keys waiting for a reconcile, per controller.',
        type: 'timeseries',
        unit: 'short',
        targets: [{ expr: `sum by (controller) (workqueue_depth{${op}})`, legend: '{{controller}}' }],
      },
      {
        title: 'Reconciles per second',
        description: 'By controller and result.',
        type: 'timeseries',
        unit: 'ops',
        targets: [{ expr: `sum by (controller, result) (rate(controller_runtime_reconcile_total{${op}}[${rate}]))`, legend: '{{controller}} {{result}}' }],
      },
      {
        title: 'Reconcile errors per second',
        description: 'Failed reconciles, retried with backoff.',
        type: 'timeseries',
        unit: 'ops',
        targets: [{ expr: `sum by (controller) (rate(controller_runtime_reconcile_errors_total{${op}}[${rate}]))`, legend: '{{controller}}' }],
      },
      {
        title: 'Reconcile time p99',
        description: 'Per controller.',
        type: 'timeseries',
        unit: 's',
        targets: [{ expr: `histogram_quantile(0.99, sum by (controller, le) (rate(controller_runtime_reconcile_time_seconds_bucket{${op}}[${rate}])))`, legend: '{{controller}}' }],
      },
      {
        title: 'API server writes per second',
        description: 'Requests that change something (apply, status, events, Leases); an idle operator makes none.',
        type: 'timeseries',
        unit: 'reqps',
        targets: [{ expr: `sum by (method, code) (rate(rest_client_requests_total{${op}, method=~"POST|PUT|PATCH|DELETE"}[${rate}]))`, legend: '{{method}} {{code}}' }],
      },
      {
        title: 'Operator memory',
        description: 'Resident set size per replica.',
        type: 'timeseries',
        unit: 'bytes',
        targets: [{ expr: `process_resident_memory_bytes{${op}}`, legend: '{{instance}}' }],
      },
    ],
  },
];

const datasource = { type: 'prometheus', uid: '${datasource}' };

/** A panel query with the dashboard's variables resolved as Grafana would (default: All). */
export function resolveVariables(expr: string, v: { rateInterval?: string; namespace?: string; job?: string } = {}): string {
  return expr
    .replaceAll('$__rate_interval', v.rateInterval ?? '5m')
    .replaceAll('$namespace', v.namespace ?? '.*')
    .replaceAll('$job', v.job ?? '.*');
}

/** Every panel query of the dashboard, as Grafana sends them (variables unresolved). */
export function panelQueries(): { panel: string; expr: string }[] {
  return rows.flatMap((r) => r.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr }))));
}

/** The dashboard in Grafana's JSON model. */
export function grafanaDashboard(): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    row.panels.forEach((p, i) => {
      const w = 8;
      const x = (i % 3) * w;
      if (i > 0 && i % 3 === 0) y += 8;
      panels.push({
        id: id++,
        type: p.type,
        title: p.title,
        description: p.description,
        datasource,
        gridPos: { h: 8, w, x, y },
        fieldConfig: {
          defaults: {
            unit: p.unit,
            ...(p.type === 'timeseries' ? { min: 0 } : {}),
            thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, ...(p.thresholds ?? []).map(([value, color]) => ({ color, value }))] },
          },
          overrides: [],
        },
        options: p.type === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] }, colorMode: 'value', graphMode: 'none' } : { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
        targets: p.targets.map((t, j) => ({ datasource, expr: t.expr, legendFormat: t.legend, refId: String.fromCharCode(65 + j) })),
      });
    });
    y += 8;
  }
  const variable = (name: string, label: string, query: string, allValue?: string) => ({
    name,
    label,
    type: 'query',
    datasource,
    query: { query, refId: name },
    definition: query,
    refresh: 2,
    includeAll: true,
    multi: true,
    // Without allValue, All is the regex of every value found (only the jobs that export our gauges).
    ...(allValue ? { allValue } : {}),
    current: { selected: true, text: ['All'], value: ['$__all'] },
    sort: 1,
  });
  return {
    title: 'Alcor operator',
    uid: 'alcor-operator',
    description: 'MAC pools, DHCP subnets and the alcor-operator',
    tags: ['alcor', 'kubernetes', 'operator'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    schemaVersion: 39,
    version: 1,
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        variable('namespace', 'Namespace', 'label_values(alcor_resource_condition, namespace)', '.*'),
        // The operator's scrape job: the one that exports the per-resource gauges.
        variable('job', 'Operator job', 'label_values(alcor_resource_condition, job)'),
      ],
    },
    annotations: { list: [] },
    panels,
  };
}
