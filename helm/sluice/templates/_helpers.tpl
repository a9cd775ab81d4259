{{/*
Every helper below reads only .Values (this chart's values) and .Release, so
it can be called from two places with the same result:
  - this chart's own templates pass "."
  - an app chart that lists sluice as a dependency passes
      (dict "Values" .Values.sluice "Release" .Release)
    and gets the same names, the policies ConfigMap's above all.
The chart name is written out ("sluice") rather than read from .Chart, which
would be the app chart's own there.
*/}}

{{- define "sluice.name" -}}
{{- default "sluice" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "sluice.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "sluice.policiesConfigMap" -}}
{{- .Values.existingPoliciesConfigMap | default (printf "%s-policies" (include "sluice.fullname" . | trunc 54 | trimSuffix "-")) -}}
{{- end -}}

{{/* Your policy files (policies) as YAML, without null entries ("NAME.yaml: null": no such file). */}}
{{- define "sluice.ownPolicies" -}}
{{- $own := dict -}}
{{- range $file, $text := .Values.policies -}}
{{- if $text -}}
{{- $_ := set $own $file $text -}}
{{- end -}}
{{- end -}}
{{- toYaml $own -}}
{{- end -}}

{{/*
The policy files the ConfigMap holds, as YAML: yours (policies), or while
you have none the chart's examples (examplePolicies). Never the two merged.
*/}}
{{- define "sluice.policyFiles" -}}
{{- toYaml (include "sluice.ownPolicies" . | fromYaml | default .Values.examplePolicies) -}}
{{- end -}}

{{/* The folder a tls.clientCertSecrets entry is mounted at. */}}
{{- define "sluice.clientCertPath" -}}
{{- .mountPath | default (printf "/var/run/secrets/sluice/client/%s" .name) -}}
{{- end -}}

{{/* Labels of this chart's own resources (these may use .Chart). */}}
{{- define "sluice.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
The sluice container for an app's pod: include it in the pod's containers
(or, with sidecar.native, in its initContainers), next to "sluice.volumes".
*/}}
{{- define "sluice.sidecar" -}}
{{- include "sluice.container" (dict "Values" .Values "Release" .Release "host" .Values.host "native" .Values.sidecar.native) -}}
{{- end -}}

{{/* The pod volumes the sluice container mounts. */}}
{{- define "sluice.volumes" -}}
- name: sluice-policies
  configMap:
    name: {{ include "sluice.policiesConfigMap" . }}
{{- range .Values.secretMounts }}
- name: {{ printf "sluice-secret-%s" (required "secretMounts[].name is required" .name) }}
  secret:
    secretName: {{ required "secretMounts[].secretName is required" .secretName }}
{{- end }}
{{- with .Values.tls.caSecret.name }}
- name: sluice-tls-ca
  secret:
    secretName: {{ . }}
{{- end }}
{{- range .Values.tls.clientCertSecrets }}
- name: {{ printf "sluice-client-%s" (required "tls.clientCertSecrets[].name is required" .name) }}
  secret:
    secretName: {{ required "tls.clientCertSecrets[].secretName is required" .secretName }}
{{- end }}
{{- with .Values.intercept.caSecret.name }}
- name: sluice-intercept-ca
  secret:
    secretName: {{ . }}
{{- end }}
{{- end -}}

{{/* hostAliases for the pod: the SDK host names sluice answers for, on loopback. */}}
{{- define "sluice.hostAliases" -}}
{{- with .Values.hostAliases -}}
- ip: 127.0.0.1
  hostnames:
    {{- toYaml . | nindent 4 }}
{{- end -}}
{{- end -}}

{{/*
Pod annotations for an app's pod: the policies checksum when
rolloutOnPolicyChange is on (sluice reloads a changed ConfigMap by itself
otherwise), and the Prometheus scrape hints when sidecar.scrapeAnnotations is
on and the admin port is reachable. Empty when neither applies.
*/}}
{{- define "sluice.podAnnotations" -}}
{{- $a := dict -}}
{{- if and .Values.sidecar.scrapeAnnotations (not (include "sluice.isLoopback" (include "sluice.adminHost" (dict "Values" .Values "host" .Values.host)))) -}}
{{- $a = include "sluice.scrapeAnnotations" . | fromYaml -}}
{{- end -}}
{{- if and .Values.rolloutOnPolicyChange (not .Values.existingPoliciesConfigMap) -}}
{{- $_ := set $a "checksum/sluice-policies" (include "sluice.policyFiles" . | sha256sum) -}}
{{- end -}}
{{- if $a -}}
{{- toYaml $a -}}
{{- end -}}
{{- end -}}

{{/* prometheus.io/* hints that point at the admin port's /metrics. */}}
{{- define "sluice.scrapeAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ int .Values.ports.admin | quote }}
prometheus.io/path: /metrics
{{- end -}}

{{/* The standalone pods' annotations: scrape hints, the checksum, your own. */}}
{{- define "sluice.standalonePodAnnotations" -}}
{{- $a := dict -}}
{{- if and .Values.standalone.scrapeAnnotations (not (include "sluice.isLoopback" (include "sluice.adminHost" (dict "Values" .Values "host" "0.0.0.0")))) -}}
{{- $a = include "sluice.scrapeAnnotations" . | fromYaml -}}
{{- end -}}
{{- if and .Values.rolloutOnPolicyChange (not .Values.existingPoliciesConfigMap) -}}
{{- $_ := set $a "checksum/sluice-policies" (include "sluice.policyFiles" . | sha256sum) -}}
{{- end -}}
{{- $a = mergeOverwrite $a .Values.standalone.podAnnotations -}}
{{- if $a -}}
{{- toYaml $a -}}
{{- end -}}
{{- end -}}

{{/*
The admin listener's bind address: adminHost, or when that is empty the
proxy's, as sluice itself defaults. Context: .Values, .host (the proxy's).
*/}}
{{- define "sluice.adminHost" -}}
{{- .Values.adminHost | default .host -}}
{{- end -}}

{{/*
"true" when the address (the context, a string) is a loopback one, which
neither the kubelet nor Prometheus reaches from outside the container's
network namespace; empty otherwise.
*/}}
{{- define "sluice.isLoopback" -}}
{{- if regexMatch `^(127\.[0-9]+\.[0-9]+\.[0-9]+|::1|localhost)$` . -}}true{{- end -}}
{{- end -}}

{{/*
One container. Context: .Values, .Release, .host (the proxy's bind address),
.native (restartable init container). The standalone Deployment passes host
0.0.0.0. The admin listener binds adminHost: the probes need only that one.
*/}}
{{- define "sluice.container" -}}
{{- $adminHost := include "sluice.adminHost" . -}}
{{- $adminLoopback := include "sluice.isLoopback" $adminHost -}}
{{- $admin := int .Values.ports.admin -}}
{{- with .Values.redis.url }}
{{- if not (regexMatch "^rediss?://" .) }}
{{- fail "redis.url must start with redis:// or rediss://" }}
{{- end }}
{{- end -}}
- name: sluice
  image: {{ printf "%s:%s" .Values.image.repository .Values.image.tag | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if .native }}
  restartPolicy: Always
  {{- end }}
  ports:
    - name: sluice-proxy
      containerPort: {{ int .Values.ports.proxy }}
      protocol: TCP
    - name: sluice-admin
      containerPort: {{ $admin }}
      protocol: TCP
  env:
    - name: SLUICE_POLICIES
      value: {{ .Values.policiesMountPath | quote }}
    - name: SLUICE_HOST
      value: {{ required "host is required" .host | quote }}
    - name: SLUICE_ADMIN_HOST
      value: {{ $adminHost | quote }}
    - name: SLUICE_PORT
      value: {{ int .Values.ports.proxy | quote }}
    - name: SLUICE_ADMIN_PORT
      value: {{ $admin | quote }}
    - name: SLUICE_LOG_LEVEL
      value: {{ .Values.logLevel | quote }}
    - name: SLUICE_DRAIN_TIMEOUT
      value: {{ printf "%ds" (int .Values.drainTimeoutSeconds) | quote }}
    {{- if .Values.redis.existingSecret.name }}
    - name: SLUICE_REDIS_URL
      valueFrom:
        secretKeyRef:
          name: {{ .Values.redis.existingSecret.name }}
          key: {{ .Values.redis.existingSecret.key }}
    {{- else if .Values.redis.url }}
    - name: SLUICE_REDIS_URL
      value: {{ .Values.redis.url | quote }}
    {{- end }}
    {{- if .Values.redis.clusterSecret.name }}
    - name: SLUICE_REDIS_CLUSTER
      valueFrom:
        secretKeyRef:
          name: {{ .Values.redis.clusterSecret.name }}
          key: {{ .Values.redis.clusterSecret.key }}
    {{- else if .Values.redis.cluster }}
    - name: SLUICE_REDIS_CLUSTER
      value: {{ join "," .Values.redis.cluster | quote }}
    {{- end }}
    {{- with .Values.redis.caFile }}
    - name: SLUICE_REDIS_CA_FILE
      value: {{ . | quote }}
    {{- end }}
    {{- if .Values.tls.caSecret.name }}
    - name: SLUICE_CA_FILE
      value: {{ printf "%s/%s" (trimSuffix "/" .Values.tls.caSecret.mountPath) .Values.tls.caSecret.key | quote }}
    {{- end }}
    {{- if .Values.intercept.caSecret.name }}
    {{- $dir := trimSuffix "/" .Values.intercept.caSecret.mountPath }}
    - name: SLUICE_INTERCEPT_CA_CERT
      value: {{ printf "%s/%s" $dir .Values.intercept.caSecret.certKey | quote }}
    - name: SLUICE_INTERCEPT_CA_KEY
      value: {{ printf "%s/%s" $dir .Values.intercept.caSecret.keyKey | quote }}
    {{- end }}
    {{- range $name, $ref := .Values.secretEnv }}
    - name: {{ $name }}
      valueFrom:
        secretKeyRef:
          name: {{ required (printf "secretEnv.%s.secretName is required" $name) $ref.secretName }}
          key: {{ required (printf "secretEnv.%s.key is required" $name) $ref.key }}
          {{- if get $ref "optional" }}
          optional: true
          {{- end }}
    {{- end }}
    {{- with .Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  volumeMounts:
    - name: sluice-policies
      mountPath: {{ .Values.policiesMountPath }}
      readOnly: true
    {{- range .Values.secretMounts }}
    - name: {{ printf "sluice-secret-%s" .name }}
      mountPath: {{ required "secretMounts[].mountPath is required" .mountPath }}
      readOnly: true
    {{- end }}
    {{- if .Values.tls.caSecret.name }}
    - name: sluice-tls-ca
      mountPath: {{ .Values.tls.caSecret.mountPath }}
      readOnly: true
    {{- end }}
    {{- range .Values.tls.clientCertSecrets }}
    - name: {{ printf "sluice-client-%s" .name }}
      mountPath: {{ include "sluice.clientCertPath" . }}
      readOnly: true
    {{- end }}
    {{- if .Values.intercept.caSecret.name }}
    - name: sluice-intercept-ca
      mountPath: {{ .Values.intercept.caSecret.mountPath }}
      readOnly: true
    {{- end }}
  startupProbe:
    {{- include "sluice.probeAction" (dict "loopback" $adminLoopback "host" $adminHost "port" $admin "path" "/healthz") | nindent 4 }}
    {{- toYaml .Values.probes.startup | nindent 4 }}
  livenessProbe:
    {{- include "sluice.probeAction" (dict "loopback" $adminLoopback "host" $adminHost "port" $admin "path" "/healthz") | nindent 4 }}
    {{- toYaml .Values.probes.liveness | nindent 4 }}
  readinessProbe:
    {{- include "sluice.probeAction" (dict "loopback" $adminLoopback "host" $adminHost "port" $admin "path" "/readyz") | nindent 4 }}
    {{- toYaml .Values.probes.readiness | nindent 4 }}
  {{- if gt (int .Values.preStopSleepSeconds) 0 }}
  lifecycle:
    preStop:
      exec:
        command: ["sleep", {{ int .Values.preStopSleepSeconds | quote }}]
  {{- end }}
  # Problems in the policies at start are printed on stderr: show them in
  # `kubectl describe pod` too.
  terminationMessagePolicy: FallbackToLogsOnError
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
{{- end -}}

{{/*
A probe's action on the admin listener. The kubelet probes the pod's IP: a
plain httpGet whenever the admin listener binds a non-loopback address (the
default adminHost 0.0.0.0). A loopback-bound listener never sees the pod's
IP, so then the probe runs inside the container instead: bash builtins only
(a /dev/tcp socket and read), no curl in the image and no node process
started every few seconds. Arguments: loopback, host, port, path.
*/}}
{{- define "sluice.probeAction" -}}
{{- if .loopback -}}
exec:
  command:
    - /bin/bash
    - -c
    - 'exec 3<>"/dev/tcp/$1/$2" && printf "GET %s HTTP/1.0\r\n\r\n" "$3" >&3 && read -r _ status _ <&3 && [ "$status" = 200 ]'
    - probe
    - {{ .host | quote }}
    - {{ .port | quote }}
    - {{ .path | quote }}
{{- else -}}
httpGet:
  path: {{ .path }}
  port: sluice-admin
{{- end -}}
{{- end -}}

{{/* An alert's runbook_url annotation, when prometheusRule.runbookBaseUrl is set. Arguments: base, alert. */}}
{{- define "sluice.runbook" -}}
{{- if .base -}}
runbook_url: {{ printf "%s#%s" .base (lower .alert) | quote }}
{{- end -}}
{{- end -}}
