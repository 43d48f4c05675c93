{{/* Chart name, overridable. */}}
{{- define "portico.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name; components append up to 16 characters (-dataplane-admin), so 45 keeps names within 63. */}}
{{- define "portico.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "portico.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "portico.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "portico.selectorLabels" -}}
app.kubernetes.io/name: {{ include "portico.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "portico.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "portico.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "portico.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The controller's Service name; data planes dial it and its certificate names it. */}}
{{- define "portico.controllerService" -}}
{{- printf "%s-controller" (include "portico.fullname" .) }}
{{- end }}

{{/* host:port the data planes dial: <svc>.<namespace>.svc, a SAN of the controller certificate. */}}
{{- define "portico.controllerAddress" -}}
{{- printf "%s.%s.svc:%d" (include "portico.controllerService" .) .Release.Namespace (int .Values.controller.grpcPort) }}
{{- end }}

{{- define "portico.controllerTLSSecret" -}}
{{- printf "%s-controller-tls" (include "portico.fullname" .) }}
{{- end }}

{{- define "portico.dataplaneTLSSecret" -}}
{{- printf "%s-dataplane-tls" (include "portico.fullname" .) }}
{{- end }}

{{- define "portico.manifestsConfigMap" -}}
{{- default (printf "%s-manifests" (include "portico.fullname" .)) .Values.controller.existingManifestsConfigMap }}
{{- end }}

{{/* The IngressClass object; rendered into the cluster and into the controller's manifests. */}}
{{- define "portico.ingressClass" -}}
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: {{ .Values.ingressClass.name }}
  {{- if .Values.ingressClass.default }}
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
  {{- end }}
spec:
  controller: portico.dev/ingress-controller
{{- end }}
