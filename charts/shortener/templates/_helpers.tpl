{{/*
Names, labels and the pieces every pod of the release shares. Components are
`api`, `worker`, `migrations` and `test`; each object is labelled through
`shortener.labels` with its component, and selectors use only name, instance
and component so that adding a label never changes an immutable selector.
*/}}

{{- define "shortener.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's name prefix; 40 characters leave room for component suffixes. */}}
{{- define "shortener.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "shortener.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: `<fullname>-<component>`. Takes (dict "ctx" $ "component" "api"). */}}
{{- define "shortener.componentName" -}}
{{- printf "%s-%s" (include "shortener.fullname" .ctx) .component -}}
{{- end -}}

{{- define "shortener.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The selector labels of a component: name, instance, component and nothing
else. Takes (dict "ctx" $ "component" "api").
*/}}
{{- define "shortener.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shortener.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
The one labels helper: standard labels of a component plus commonLabels.
Takes (dict "ctx" $ "component" "api").
*/}}
{{- define "shortener.labels" -}}
{{ include "shortener.selectorLabels" . }}
app.kubernetes.io/part-of: {{ include "shortener.name" .ctx }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ include "shortener.chart" .ctx }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "shortener.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "shortener.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "shortener.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret the apps read: the user's existing one, or the chart's. */}}
{{- define "shortener.secretName" -}}
{{- default (include "shortener.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/*
Non-secret environment shared by the API, the worker and the migration runner,
as a YAML map of strings. The ConfigMap renders it for the apps; the migration
Job inlines it, because at a first install's pre-install hook the ConfigMap
does not exist yet.
*/}}
{{- define "shortener.configEnv" -}}
{{- $c := .Values.config -}}
NODE_ENV: production
LOG_LEVEL: {{ $c.logLevel | quote }}
PUBLIC_BASE_URL: {{ $c.publicBaseUrl | quote }}
EXTRA_PUBLIC_BASE_URLS: {{ join "," $c.extraPublicBaseUrls | quote }}
SHUTDOWN_TIMEOUT_MS: {{ $c.shutdownTimeoutMs | quote }}
HTTP_KEEP_ALIVE_TIMEOUT_MS: {{ $c.http.keepAliveTimeoutMs | quote }}
HTTP_BODY_LIMIT_BYTES: {{ $c.http.bodyLimitBytes | quote }}
HTTP_BULK_BODY_LIMIT_BYTES: {{ $c.http.bulkBodyLimitBytes | quote }}
HTTP_BULK_MAX_IN_FLIGHT: {{ $c.http.bulkMaxInFlight | quote }}
HTTP_BULK_BODY_BYTES_PER_SECOND: {{ $c.http.bulkBodyBytesPerSecond | quote }}
HTTP_JSON_MAX_DEPTH: {{ $c.http.jsonMaxDepth | quote }}
HTTP_HEADERS_TIMEOUT_MS: {{ $c.http.headersTimeoutMs | quote }}
HTTP_BODY_TIMEOUT_MS: {{ $c.http.bodyTimeoutMs | quote }}
HTTP_REQUEST_TIMEOUT_MS: {{ $c.http.requestTimeoutMs | quote }}
HTTP_REQUEST_DEADLINE_MS: {{ $c.http.requestDeadlineMs | quote }}
HTTP_MAX_CONNECTIONS: {{ $c.http.maxConnections | quote }}
HTTP_MAX_DOWNLOADS: {{ $c.http.maxDownloads | quote }}
HTTP_SEND_TIMEOUT_MS: {{ $c.http.sendTimeoutMs | quote }}
HTTP_LISTEN_BACKLOG: {{ $c.http.listenBacklog | quote }}
HTTP_MAX_CONNECTIONS_PER_ADDRESS: {{ $c.http.maxConnectionsPerAddress | quote }}
TRUSTED_PROXIES: {{ join "," $c.http.trustedProxies | quote }}
CORS_ORIGINS: {{ join "," $c.http.corsOrigins | quote }}
MAX_TARGET_LENGTH_BYTES: {{ $c.links.maxTargetLengthBytes | quote }}
BLOCKED_HOSTS: {{ join "," $c.links.blockedHosts | quote }}
DATABASE_POOL_SIZE: {{ $c.database.poolSize | quote }}
DATABASE_STATEMENT_TIMEOUT_MS: {{ $c.database.statementTimeoutMs | quote }}
DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: {{ $c.database.idleInTransactionTimeoutMs | quote }}
DATABASE_CONNECT_TIMEOUT_MS: {{ $c.database.connectTimeoutMs | quote }}
MIGRATION_LOCK_TIMEOUT_MS: {{ .Values.migrations.lockTimeoutMs | quote }}
MIGRATION_RETRIES: {{ .Values.migrations.retries | quote }}
REDIS_KEY_PREFIX: {{ $c.redis.keyPrefix | quote }}
QUEUE_PREFIX: {{ $c.redis.queuePrefix | quote }}
OTEL_SDK_DISABLED: {{ (not .Values.otel.enabled) | toString | quote }}
{{- if .Values.otel.enabled }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ .Values.otel.endpoint | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: {{ .Values.otel.protocol | quote }}
OTEL_TRACES_SAMPLER: {{ .Values.otel.sampler | quote }}
OTEL_TRACES_SAMPLER_ARG: {{ .Values.otel.samplerArg | quote }}
{{- end }}
{{- range $k, $v := $c.extraEnv }}
{{ $k }}: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/*
The secret variables as a JSON map `ENV_NAME: [valuesKey, required]`; the one
table the Secret, the hook Secret, the env entries and the checks read.
*/}}
{{- define "shortener.secretVars" -}}
{{- dict "DATABASE_URL" (list "databaseUrl" true) "REDIS_QUEUE_URL" (list "redisQueueUrl" true) "REDIS_CACHE_URL" (list "redisCacheUrl" true) "API_KEY_PEPPER" (list "apiKeyPepper" true) "CODE_PERMUTATION_KEY" (list "codePermutationKey" true) "CLICK_IP_SALT" (list "clickIpSalt" true) "DATABASE_REPLICA_URLS" (list "databaseReplicaUrls" false) "BOOTSTRAP_ADMIN_KEY" (list "bootstrapAdminKey" false) | toJson -}}
{{- end -}}

{{/*
The secret variables only the migration Job reads, in the same shape: the
owner role's URL never reaches the API and worker pods, nor the release's
Secret (only the Job's hook copy, deleted once the hooks succeeded).
*/}}
{{- define "shortener.migrationSecretVars" -}}
{{- dict "DATABASE_MIGRATION_URL" (list "databaseMigrationUrl" false) | toJson -}}
{{- end -}}

{{/* Every secret variable: the apps' and the migration Job's. Takes $. */}}
{{- define "shortener.allSecretVars" -}}
{{- merge (include "shortener.secretVars" . | fromJson) (include "shortener.migrationSecretVars" . | fromJson) | toJson -}}
{{- end -}}

{{/*
The chart-made Secret's data: every inline value not redirected by
secrets.refs. Takes (dict "ctx" $ "migrations" bool): with migrations, the
Job's variables too (the hook copy).
*/}}
{{- define "shortener.secretData" -}}
{{- $vars := include (ternary "shortener.allSecretVars" "shortener.secretVars" (default false .migrations)) .ctx | fromJson }}
{{- $secrets := .ctx.Values.secrets }}
{{- range $env, $spec := $vars }}
{{- $value := get $secrets (first $spec) }}
{{- if and $value (not (hasKey $secrets.refs $env)) }}
{{ $env }}: {{ $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Environment entries read from Secrets: secrets.refs where given, else the
release's Secret (the migration Job passes its hook-ordered copy, see
migrations/secret.yaml). Optional variables stay optional. Takes
(dict "ctx" $ "secretName" "..." "migrations" bool): with migrations, the
Job's own variables too.
*/}}
{{- define "shortener.secretEnv" -}}
{{- $refs := .ctx.Values.secrets.refs }}
{{- $vars := include (ternary "shortener.allSecretVars" "shortener.secretVars" (default false .migrations)) .ctx | fromJson }}
{{- range $env, $spec := $vars }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      {{- with get $refs $env }}
      name: {{ .name }}
      key: {{ .key }}
      {{- else }}
      name: {{ $.secretName }}
      key: {{ $env }}
      {{- end }}
      {{- if not (last $spec) }}
      optional: true
      {{- end }}
{{- end }}
{{- end -}}

{{/*
Kubernetes identity and the OpenTelemetry resource of a process, from the
downward API. Takes (dict "ctx" $ "component" "api").
*/}}
{{- define "shortener.identityEnv" -}}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_NAMESPACE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: K8S_NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: OTEL_SERVICE_NAME
  value: {{ printf "%s-%s" (include "shortener.name" .ctx) .component | quote }}
{{- $attrs := list "k8s.pod.name=$(K8S_POD_NAME)" "k8s.namespace.name=$(K8S_NAMESPACE_NAME)" "k8s.node.name=$(K8S_NODE_NAME)" (printf "service.version=%s" (default .ctx.Chart.AppVersion .ctx.Values.image.tag)) }}
{{- range $k, $v := .ctx.Values.otel.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%s" $k $v) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- end -}}

{{- define "shortener.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "shortener.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The writable /tmp of every container: in memory, bounded. */}}
{{- define "shortener.tmpVolume" -}}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{- define "shortener.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/*
The process arguments after `node`, per component (the image's contract).
Takes the component name.
*/}}
{{- define "shortener.args" -}}
{{- if eq . "migrations" -}}
- dist/libs/database/src/migration/migrate.main.js
{{- else -}}
- --require
- ./dist/libs/observability/src/tracing/register.js
- {{ printf "dist/apps/%s/src/main.js" . }}
{{- end -}}
{{- end -}}

{{/*
preStop: the lifecycle `sleep` action where the cluster has it (on by default
from 1.30), an exec of sleep(1) from the image below that. Takes
(dict "ctx" $ "seconds" N).
*/}}
{{- define "shortener.preStop" -}}
preStop:
{{- if semverCompare ">=1.30.0-0" .ctx.Capabilities.KubeVersion.Version }}
  sleep:
    seconds: {{ .seconds }}
{{- else }}
  exec:
    command: ["sleep", {{ .seconds | quote }}]
{{- end }}
{{- end -}}

{{/*
Grace period covering the whole shutdown: the preStop sleep, then the app's
drain (SHUTDOWN_TIMEOUT_MS rounded up to seconds), plus 5 s for the process
to exit after the drain. Takes (dict "ctx" $ "seconds" preStopSleep).
*/}}
{{- define "shortener.terminationGracePeriodSeconds" -}}
{{- $drain := div (add .ctx.Values.config.shutdownTimeoutMs 999) 1000 -}}
{{- add .seconds $drain 5 -}}
{{- end -}}

{{/* Probes on the management port. Takes a probes value (startup, liveness, readiness). */}}
{{- define "shortener.probes" -}}
startupProbe:
  httpGet:
    path: /health/startup
    port: management
  periodSeconds: {{ .startup.periodSeconds }}
  timeoutSeconds: {{ .startup.timeoutSeconds }}
  failureThreshold: {{ .startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: /health/live
    port: management
  periodSeconds: {{ .liveness.periodSeconds }}
  timeoutSeconds: {{ .liveness.timeoutSeconds }}
  failureThreshold: {{ .liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /health/ready
    port: management
  periodSeconds: {{ .readiness.periodSeconds }}
  timeoutSeconds: {{ .readiness.timeoutSeconds }}
  failureThreshold: {{ .readiness.failureThreshold }}
{{- end -}}

{{/* Topology spread constraints of a component. Takes (dict "ctx" $ "component" "api" "spread" .Values.api.topologySpread). */}}
{{- define "shortener.topologySpread" -}}
{{- range .spread.topologyKeys }}
- maxSkew: 1
  topologyKey: {{ . }}
  whenUnsatisfiable: {{ $.spread.whenUnsatisfiable }}
  labelSelector:
    matchLabels:
      {{- include "shortener.selectorLabels" $ | nindent 6 }}
  matchLabelKeys:
    - pod-template-hash
{{- end }}
{{- end -}}

{{/* Whether the worker scales through KEDA: asked for, and the cluster serves keda.sh/v1alpha1. */}}
{{- define "shortener.worker.useKeda" -}}
{{- $a := .Values.worker.autoscaling -}}
{{- if and $a.enabled $a.keda.enabled (.Capabilities.APIVersions.Has "keda.sh/v1alpha1") -}}true{{- end -}}
{{- end -}}

{{/* Whether the cluster serves the Prometheus Operator's monitoring.coreos.com/v1. */}}
{{- define "shortener.hasPrometheusOperator" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" -}}true{{- end -}}
{{- end -}}

{{/* Hosts of the Ingress: the listed ones, or those of the public base URLs. */}}
{{- define "shortener.ingressHosts" -}}
{{- $hosts := .Values.ingress.hosts -}}
{{- if not $hosts -}}
{{- $hosts = list -}}
{{- range (prepend .Values.config.extraPublicBaseUrls .Values.config.publicBaseUrl) -}}
{{- $h := (urlParse .).host | splitList ":" | first | lower -}}
{{- if not (has $h $hosts) }}{{ $hosts = append $hosts $h }}{{ end -}}
{{- end -}}
{{- end -}}
{{- toJson $hosts -}}
{{- end -}}

{{/* Checksum of the pods' configuration, so a changed ConfigMap or Secret rolls the pods. */}}
{{- define "shortener.configChecksum" -}}
{{- $secret := "" -}}
{{- if not .Values.secrets.existingSecret -}}
{{- $secret = toJson (omit .Values.secrets "existingSecret") -}}
{{- end -}}
{{- printf "%s\n%s" (include "shortener.configEnv" .) $secret | sha256sum -}}
{{- end -}}
