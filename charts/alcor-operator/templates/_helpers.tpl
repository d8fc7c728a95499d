{{/* Chart name, overridable. */}}
{{- define "alcor-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, plus the chart name unless it already contains it. */}}
{{- define "alcor-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "alcor-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable across upgrades. */}}
{{- define "alcor-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "alcor-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "alcor-operator.labels" -}}
helm.sh/chart: {{ include "alcor-operator.chart" . }}
{{ include "alcor-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: alcor
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "alcor-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "alcor-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "alcor-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Name of the leader-election Lease (the operator's --leader-election-id). */}}
{{- define "alcor-operator.leaderElectionId" -}}
{{- default (printf "%s-leader" (include "alcor-operator.fullname" .)) .Values.leaderElection.id }}
{{- end }}

{{/* Labels of the CRDs: cluster-wide singletons that outlive a release, so
nothing of the release (instance, chart version) that would change their owner
or conflict with a kubectl-applied copy. */}}
{{- define "alcor-operator.crdLabels" -}}
app.kubernetes.io/part-of: alcor
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
