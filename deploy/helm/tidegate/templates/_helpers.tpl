{{- define "tidegate.labels" -}}
app.kubernetes.io/part-of: tidegate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "tidegate.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "tidegate.shards" -}}
{{- if gt (int .Values.controller.shards) 0 -}}
{{ .Values.controller.shards }}
{{- else -}}
{{ .Values.controller.replicas }}
{{- end -}}
{{- end -}}

{{- define "tidegate.sharded" -}}
{{- if or (gt (int .Values.controller.replicas) 1) (gt (int .Values.controller.shards) 0) -}}
true
{{- end -}}
{{- end -}}
