{{- define "cache.fullname" -}}
{{- printf "%s-cache" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "cache.memory" -}}
{{- $sizes := dict "small" "64Mi" "medium" "256Mi" "large" "1Gi" }}
{{- required (printf "unknown cache size %q" .Values.size) (get $sizes .Values.size) }}
{{- end }}
