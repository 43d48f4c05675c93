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
{{- printf "%s:%s" (required "image.repository is required: the registry path of the image built from the Dockerfile" .Values.image.repository) (default .Chart.AppVersion .Values.image.tag) }}
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

{{/* API versions by what the cluster serves (.Capabilities.APIVersions: discovery on install, the renderer's list otherwise). */}}
{{- define "portico.pdbApiVersion" -}}
{{- if .Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget" }}policy/v1{{ else }}policy/v1beta1{{ end }}
{{- end }}

{{- define "portico.hpaApiVersion" -}}
{{- if .Capabilities.APIVersions.Has "autoscaling/v2/HorizontalPodAutoscaler" }}autoscaling/v2{{ else }}autoscaling/v2beta2{{ end }}
{{- end }}

{{/* Checks of combinations values.schema.json does not express; fail stops the install with the message. */}}
{{- define "portico.validate" -}}
{{- if and .Values.dataplane.autoscaling.enabled (ne .Values.dataplane.kind "Deployment") }}
{{- fail "dataplane.autoscaling.enabled needs dataplane.kind=Deployment (a DaemonSet runs one pod per node)" }}
{{- end }}
{{- if and .Values.dataplane.autoscaling.enabled (not (or .Values.dataplane.autoscaling.targetCPUUtilizationPercentage .Values.dataplane.autoscaling.targetMemoryUtilizationPercentage)) }}
{{- fail "dataplane.autoscaling.enabled needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- if gt (int .Values.dataplane.autoscaling.minReplicas) (int .Values.dataplane.autoscaling.maxReplicas) }}
{{- fail "dataplane.autoscaling.minReplicas is greater than maxReplicas" }}
{{- end }}
{{- if and .Values.controller.existingManifestsConfigMap (eq .Values.controller.source "kube") }}
{{- fail "controller.existingManifestsConfigMap is for controller.source=file" }}
{{- end }}
{{- end }}

{{/* A PodDisruptionBudget's spec budget from {maxUnavailable, minAvailable}: minAvailable when set. */}}
{{- define "portico.pdbBudget" -}}
{{- if ne (toString .minAvailable) "" }}
minAvailable: {{ .minAvailable }}
{{- else }}
maxUnavailable: {{ .maxUnavailable }}
{{- end }}
{{- end }}
