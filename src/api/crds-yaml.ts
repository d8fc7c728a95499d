import { stringify } from 'yaml';
import { generateCrds } from './crds.ts';

const GENERATED = 'Generated from src/api by scripts/generate-crds.ts; do not edit.';

/** The CRDs as the files in crds/ hold them: one YAML document per file, keyed by file name. */
export function crdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const crd of generateCrds()) {
    const name = (crd.metadata as { name: string }).name;
    files.set(`${name}.yaml`, `# ${GENERATED}\n${stringify(crd, { lineWidth: 0 })}`);
  }
  return files;
}

/**
 * The CRDs as the chart's templates (charts/alcor-operator/templates/crds/),
 * as cert-manager ships them: rendered on install and upgrade, so `helm
 * upgrade` brings a new schema; skipped with crds.install=false; kept by
 * `helm uninstall` while crds.keep is true (helm.sh/resource-policy: keep).
 */
export function crdChartTemplates(): Map<string, string> {
  const files = new Map<string, string>();
  for (const crd of generateCrds()) {
    const name = (crd.metadata as { name: string }).name;
    // Helm would read a {{ in a description as a template action.
    const spec = stringify({ spec: crd['spec'] }, { lineWidth: 0 }).replace(/\{\{/g, '{{ "{{" }}');
    files.set(
      `${name}.yaml`,
      `{{- /* ${GENERATED} */ -}}
{{- if .Values.crds.install }}
apiVersion: ${String(crd['apiVersion'])}
kind: ${String(crd['kind'])}
metadata:
  name: ${name}
  labels:
    {{- include "alcor-operator.crdLabels" . | nindent 4 }}
  {{- if .Values.crds.keep }}
  annotations:
    # helm uninstall leaves the CRD, and so every resource of this kind.
    helm.sh/resource-policy: keep
  {{- end }}
${spec}{{- end }}
`,
    );
  }
  return files;
}
