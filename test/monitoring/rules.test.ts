// The shipped alerts and dashboard: generated files in step with
// src/monitoring, `promtool check rules` and `promtool test rules` (one case
// per alert where it fires and where it must not), a runbook per alert, the
// chart's PrometheusRule and dashboard ConfigMap equal to the plain files,
// and every dashboard query valid PromQL. promtool is built from Go modules
// (e2e/cluster/build-prometheus.sh); the real Prometheus run is e2e/monitoring.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { prometheusBinDir } from '../../e2e/cluster/prometheus-build.ts';
import { chartDir, helmBinary } from '../../scripts/render-install.ts';
import { panelQueries, resolveVariables } from '../../src/monitoring/dashboard.ts';
import { dashboardJson, monitoringFiles } from '../../src/monitoring/files.ts';
import { alertRules, ruleGroups, type PrometheusAlert } from '../../src/monitoring/rules.ts';

const root = join(import.meta.dirname, '../..');
const rulesFile = join(root, 'monitoring/alcor-operator.rules.yaml');
const promtoolTests = join(import.meta.dirname, 'alerts.promtool.yaml');
let promtool = '';
let helm = '';

beforeAll(async () => {
  promtool = join(await prometheusBinDir(), 'promtool');
  helm = helmBinary();
}, 900_000);

function run(bin: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(bin, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr })),
  );
}

interface PromtoolTest {
  name: string;
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}

const tmp = () => mkdtempSync(join(tmpdir(), 'alcor-monitoring-'));

describe('generated monitoring files', () => {
  it('are in step with src/monitoring (npm run generate:monitoring)', () => {
    for (const [path, text] of monitoringFiles()) expect(readFileSync(join(root, path), 'utf8'), `${path} is stale: run npm run generate:monitoring`).toBe(text);
  });
});

describe('alert rules', () => {
  it('promtool check rules: valid rules file', async () => {
    const res = await run(promtool, ['check', 'rules', rulesFile]);
    expect(res.out).toContain(`SUCCESS: ${ruleGroups().groups.flatMap((g) => g.rules).length} rules found`);
    expect(res.code).toBe(0);
  });

  it('promtool check config: the documented Kubernetes scrape jobs, with the rules file', async () => {
    const res = await run(promtool, ['check', 'config', join(root, 'monitoring/prometheus-scrape.example.yaml')]);
    expect(res.code, res.out).toBe(0);
    expect(res.out).toContain('SUCCESS: 1 rule files found');
  });

  it('promtool test rules: every case passes', async () => {
    const res = await run(promtool, ['test', 'rules', promtoolTests]);
    expect(res.out).toContain('SUCCESS');
    expect(res.code, res.out).toBe(0);
  });

  it('promtool test rules can fail: a tightened threshold breaks the no-fire cases', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'rules.yaml'), readFileSync(rulesFile, 'utf8').replace('resource:alcor_pool_utilization:ratio > 0.85', 'resource:alcor_pool_utilization:ratio > 0.8'));
    const tests = parse(readFileSync(promtoolTests, 'utf8')) as { rule_files: string[] };
    tests.rule_files = [join(dir, 'rules.yaml')];
    writeFileSync(join(dir, 'tests.yaml'), stringify(tests));
    const res = await run(promtool, ['test', 'rules', join(dir, 'tests.yaml')]);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/name="ok"/);
  });

  it('every alert has a promtool case where it fires and one where it does not', () => {
    const tests = (parse(readFileSync(promtoolTests, 'utf8')) as { tests: PromtoolTest[] }).tests;
    const evals = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alertRules()) {
      const mine = evals.filter((e) => e.alertname === alert);
      expect(mine.some((e) => (e.exp_alerts ?? []).length > 0), `${alert}: no case where it fires`).toBe(true);
      expect(mine.some((e) => (e.exp_alerts ?? []).length === 0), `${alert}: no case where it must not fire`).toBe(true);
    }
    // No test of an alert that does not exist.
    const names = new Set(alertRules().map((a) => a.alert));
    for (const e of evals) expect(names.has(e.alertname), e.alertname).toBe(true);
  });

  it('every alert has a severity and a runbook in docs/runbooks that says what it means, how to confirm it with kubectl and what to do', () => {
    const alerts = ruleGroups().groups.flatMap((g) => g.rules).filter((r): r is PrometheusAlert => 'alert' in r);
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'AlcorDhcpdDropsHigh',
        'AlcorDhcpdLeaseLogSlow',
        'AlcorMacdLogFsyncSlow',
        'AlcorOperatorNoLeader',
        'AlcorOperatorReconcileErrors',
        'AlcorPoolExhausted',
        'AlcorPoolFillingUp',
        'AlcorPoolUtilizationHigh',
        'AlcorReplicasNotReady',
        'AlcorResourceDegraded',
      ].sort(),
    );
    for (const a of alerts) {
      expect(['warning', 'critical']).toContain(a.labels.severity);
      expect(a.annotations.runbook_url).toMatch(new RegExp(`/docs/runbooks/${a.alert}\\.md$`));
      const file = join(root, 'docs/runbooks', `${a.alert}.md`);
      expect(existsSync(file), `${file} is missing`).toBe(true);
      const text = readFileSync(file, 'utf8');
      expect(text, file).toMatch(new RegExp(`^# ${a.alert}\\n`));
      for (const section of ['## Meaning', '## Confirm', '## Act']) expect(text, `${file}: ${section}`).toContain(section);
      const confirm = text.slice(text.indexOf('## Confirm'), text.indexOf('## Act'));
      expect(confirm, `${file}: kubectl in Confirm`).toContain('kubectl ');
    }
  });

  it('every dashboard query is valid PromQL (checked by promtool as recording rules)', async () => {
    const dir = tmp();
    const queries = panelQueries();
    expect(queries.length).toBeGreaterThan(15);
    const groups = [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: resolveVariables(q.expr) })) }];
    writeFileSync(join(dir, 'dashboard-queries.yaml'), stringify({ groups }));
    const res = await run(promtool, ['check', 'rules', join(dir, 'dashboard-queries.yaml')]);
    expect(res.code, res.out).toBe(0);
  });
});

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: { groups: unknown[] };
  data?: Record<string, string>;
}

describe('the chart ships the same rules and dashboard', () => {
  const template = async (...args: string[]) => {
    const res = await run(helm, ['template', 'alcor-operator', chartDir, '--namespace', 'alcor-system', '--kube-version', '1.34.0', ...args]);
    expect(res.code, res.out).toBe(0);
    return parseAllDocuments(res.out)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
  };

  it('no PrometheusRule, PodMonitor or dashboard ConfigMap by default', async () => {
    const kinds = (await template()).map((o) => o.kind);
    expect(kinds).not.toContain('PrometheusRule');
    expect(kinds).not.toContain('PodMonitor');
    expect((await template()).some((o) => o.metadata.name.endsWith('-dashboard'))).toBe(false);
  });

  it('helm template --set metrics.prometheusRule.enabled=true renders the rules of the plain file, which promtool tests pass against', async () => {
    const objs = await template('--set', 'metrics.prometheusRule.enabled=true');
    const rule = objs.find((o) => o.kind === 'PrometheusRule');
    expect(rule?.metadata.namespace).toBe('alcor-system');
    // Release "alcor-operator": the Lease is alcor-operator-leader, the operator's default.
    expect(rule?.spec).toEqual(ruleGroups());
    expect(rule?.spec).toEqual(parse(readFileSync(rulesFile, 'utf8')));
    const dir = tmp();
    writeFileSync(join(dir, 'chart-rules.yaml'), stringify(rule?.spec));
    const tests = parse(readFileSync(promtoolTests, 'utf8')) as { rule_files: string[] };
    tests.rule_files = [join(dir, 'chart-rules.yaml')];
    writeFileSync(join(dir, 'tests.yaml'), stringify(tests));
    const res = await run(promtool, ['test', 'rules', join(dir, 'tests.yaml')]);
    expect(res.code, res.out).toBe(0);
  });

  it('follows the release: its leader Lease, its runbook URL, no leader alert without leader election', async () => {
    const res = await run(helm, [
      'template', 'other', chartDir, '--namespace', 'ns1', '--kube-version', '1.34.0',
      '--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.prometheusRule.runbookBaseURL=https://wiki.example/runbooks/', '--set', 'metrics.prometheusRule.labels.release=prom',
    ]);
    const rule = parseAllDocuments(res.out).map((d) => d.toJS() as K8sObject).find((o) => o?.kind === 'PrometheusRule')!;
    expect(rule.metadata.labels?.['release']).toBe('prom');
    expect(rule.spec).toEqual(ruleGroups({ runbookBaseUrl: 'https://wiki.example/runbooks', leaderElectionId: 'other-alcor-operator-leader' }));
    const off = await template('--set', 'metrics.prometheusRule.enabled=true', '--set', 'leaderElection.enabled=false', '--set', 'replicaCount=1');
    const alerts = (off.find((o) => o.kind === 'PrometheusRule')!.spec!.groups as { rules: { alert?: string }[] }[]).flatMap((g) => g.rules).map((r) => r.alert);
    expect(alerts).not.toContain('AlcorOperatorNoLeader');
    expect(alerts).toContain('AlcorPoolExhausted');
  });

  it('--set metrics.grafanaDashboard.enabled=true renders a ConfigMap labelled grafana_dashboard holding the dashboard JSON', async () => {
    const objs = await template('--set', 'metrics.grafanaDashboard.enabled=true', '--set', 'metrics.grafanaDashboard.namespace=monitoring');
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'alcor-operator-dashboard');
    expect(cm?.metadata.labels?.['grafana_dashboard']).toBe('1');
    expect(cm?.metadata.namespace).toBe('monitoring');
    expect(cm?.data?.['alcor-operator.json']).toBe(dashboardJson());
    expect(JSON.parse(cm!.data!['alcor-operator.json']!)).toMatchObject({ uid: 'alcor-operator', title: 'Alcor operator' });
  });

  it('the PodMonitor scrapes the macd and dhcpd pods on their metrics port; the ServiceMonitor honors the resources\' namespace label', async () => {
    const objs = await template('--set', 'metrics.podMonitor.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true');
    const pm = objs.find((o) => o.kind === 'PodMonitor') as K8sObject & { spec: Record<string, unknown> };
    expect(pm.spec).toMatchObject({
      namespaceSelector: { any: true },
      selector: { matchExpressions: expect.arrayContaining([{ key: 'app.kubernetes.io/name', operator: 'In', values: ['macd', 'dhcpd'] }]) },
      podMetricsEndpoints: [expect.objectContaining({ port: 'metrics', path: '/metrics' })],
    });
    const sm = objs.find((o) => o.kind === 'ServiceMonitor') as K8sObject & { spec: { endpoints: { honorLabels?: boolean }[] } };
    expect(sm.spec.endpoints[0]?.honorLabels).toBe(true);
  });

  it('values.schema.json refuses a runbook base that is not a URL', async () => {
    const res = await run(helm, ['template', 'x', chartDir, '--set', 'metrics.prometheusRule.runbookBaseURL=docs/runbooks']);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/\/metrics\/prometheusRule\/runbookBaseURL/);
  });
});
