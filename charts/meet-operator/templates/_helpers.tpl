{{/* Name of the chart (override: nameOverride is not offered; the release name makes objects unique). */}}
{{- define "meet-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name, prefixed with the chart name unless it already contains it. */}}
{{- define "meet-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "meet-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meet-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "meet-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "meet-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: meet-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "meet-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "meet-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* registry/repository@digest when a digest is set (it wins), else registry/repository:tag (default: appVersion). */}}
{{- define "meet-operator.image" -}}
{{- $ref := printf "%s/%s" .Values.image.registry .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $ref .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The rules of the namespaced part of the operator's role: exactly the requests the operator sends
(operator/src/controller/*, operator/src/kube/*), no wildcard. Shared by the ClusterRole (all
namespaces) and the per-namespace Roles (watchNamespaces). The chart test compares them with the kinds
the code declares (operator/src/kube/resources.ts) and runs the operator under them.
*/}}
{{- define "meet-operator.rules" -}}
# MeetingClusters: informer (list + watch); reads otherwise come from its cache.
- apiGroups: [meet.sovereign.io]
  resources: [meetingclusters]
  verbs: [list, watch]
# status written by server-side apply (PATCH .../status).
- apiGroups: [meet.sovereign.io]
  resources: [meetingclusters/status]
  verbs: [patch]
# Children carry ownerReferences with blockOwnerDeletion: true; where the
# OwnerReferencesPermissionEnforcement admission plugin is on, that needs update on the owner's finalizers.
- apiGroups: [meet.sovereign.io]
  resources: [meetingclusters/finalizers]
  verbs: [update]
# Children (CHILD_TYPES): informer by label (list, watch), server-side apply (patch; when the object does
# not exist yet the API server also requires create), prune (delete). No get/update: reads come from the
# informers' caches and every write is an apply.
# Secrets also: GET of a generated Secret the cache lacks, or of a user's Redis password Secret (the
# autoscaler reads LiveKit's room placement with it during upgrades); POST (create, never overwrite)
# of a missing generated one.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [configmaps, services]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch, create, patch, delete]
# Optional kind: watched when the Prometheus Operator CRDs exist (spec.monitoring.serviceMonitor).
- apiGroups: [monitoring.coreos.com]
  resources: [servicemonitors]
  verbs: [list, watch, create, patch, delete]
# Optional kind: watched when cert-manager's CRDs exist (spec.turn.issuerRef). The Secret cert-manager
# writes is read with the secrets rule above (its certificate's digest and expiry).
- apiGroups: [cert-manager.io]
  resources: [certificates]
  verbs: [list, watch, create, patch, delete]
# spec.checks: the check's CronJob, its ServiceAccount, and the Role and RoleBinding that grant it
# exactly what it does (meet-operator check --print-cronjob shows them).
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [list, watch, create, patch, delete]
# Kubernetes lets no one grant a right it does not hold (RBAC escalation prevention): the check's
# Role reads and annotates its MeetingCluster and reads SFU metrics through the pod proxy, so the
# operator holds these too, and uses none of them itself.
- apiGroups: [meet.sovereign.io]
  resources: [meetingclusters]
  verbs: [get, patch]
- apiGroups: [""]
  resources: [pods/proxy]
  verbs: [get]
# Our pods: informer by label (list, watch), read for why a component is not ready; before a
# scale-down the autoscaler sets controller.kubernetes.io/pod-deletion-cost on each SFU pod (patch)
# so the emptiest pods go first; an upgrade past spec.sfu.upgrade.deadlineSeconds deletes the old
# SFU pods still draining again, with a 1 s grace period (delete).
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch, patch, delete]
# Events on MeetingClusters (POST); list: the volume controller's Events of a claim a pod waits for
# (the reason, e.g. a missing StorageClass, that status names).
- apiGroups: [""]
  resources: [events]
  verbs: [create, list]
{{- end -}}
