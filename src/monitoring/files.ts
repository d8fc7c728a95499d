import { stringify } from 'yaml';
import { grafanaDashboard } from './dashboard.ts';
import { alertRules, DEFAULT_LEADER_ELECTION_ID, ruleGroups } from './rules.ts';

// The files generated from rules.ts and dashboard.ts, keyed by their path in
// the repository: `npm run generate:monitoring` writes them, a test compares.

const generated = (what: string) => `Generated from src/monitoring/${what} by \`npm run generate:monitoring\`; do not edit (a test fails when it drifts).`;

/** The plain Prometheus rules file, for Prometheus installs without the Prometheus Operator. */
export function rulesFile(): string {
  return `# alcor-operator alerts and recording rules for Prometheus (rule_files:).
# ${generated('rules.ts')}
# AlcorOperatorNoLeader expects the operator to run with --leader-elect and the
# Lease name ${DEFAULT_LEADER_ELECTION_ID}; scrape the operator with honor_labels: true
# (its per-resource metrics carry the resource's namespace).
${stringify(ruleGroups(), { lineWidth: 0 })}`;
}

// Helm: Prometheus's own {{ }} must reach the PrometheusRule verbatim.
const escapeForHelm = (text: string) => text.replace(/\{\{/g, '{{ "{{" }}');
const RUNBOOK = '__RUNBOOK_BASE_URL__';
const LEADER = '__LEADER_ELECTION_ID__';

/** charts/alcor-operator/templates/prometheusrule.yaml */
export function prometheusRuleTemplate(): string {
  const { groups } = ruleGroups({ runbookBaseUrl: RUNBOOK, leaderElectionId: LEADER });
  const item = (rule: unknown) =>
    escapeForHelm(stringify([rule], { lineWidth: 0 }))
      .replaceAll(RUNBOOK, '{{ trimSuffix "/" .Values.metrics.prometheusRule.runbookBaseURL }}')
      .replaceAll(LEADER, '{{ include "alcor-operator.leaderElectionId" . }}')
      .trimEnd()
      .split('\n')
      .map((l) => `        ${l}`)
      .join('\n');
  const needsLeader = new Set(alertRules().filter((a) => a.needsLeaderElection).map((a) => a.alert));
  const rules = (group: (typeof groups)[number]) =>
    group.rules
      .map((r) => ('alert' in r && needsLeader.has(r.alert) ? `{{- if .Values.leaderElection.enabled }}\n${item(r)}\n{{- end }}` : item(r)))
      .join('\n');
  return `{{- /* ${generated('rules.ts')} */ -}}
{{- if .Values.metrics.prometheusRule.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ include "alcor-operator.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "alcor-operator.labels" . | nindent 4 }}
    {{- with .Values.metrics.prometheusRule.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  groups:
${groups.map((g) => `    - name: ${g.name}\n      rules:\n${rules(g)}`).join('\n')}
{{- end }}
`;
}

/** The Grafana dashboard JSON (the repository's copy and the chart's). */
export function dashboardJson(): string {
  return `${JSON.stringify(grafanaDashboard(), null, 2)}\n`;
}

export function monitoringFiles(): Map<string, string> {
  return new Map([
    ['monitoring/alcor-operator.rules.yaml', rulesFile()],
    ['monitoring/alcor-operator.dashboard.json', dashboardJson()],
    ['charts/alcor-operator/templates/prometheusrule.yaml', prometheusRuleTemplate()],
    ['charts/alcor-operator/dashboards/alcor-operator.json', dashboardJson()],
  ]);
}

