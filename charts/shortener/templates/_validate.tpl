{{/*
Checks the values cannot express in values.schema.json: required settings
with empty defaults, and combinations that could never work. Every problem is
listed in one `fail`, so a bad install is fixed in one round.
*/}}
{{- define "shortener.validate" -}}
{{- $errors := list -}}
{{- $v := .Values -}}
{{- if not $v.config.publicBaseUrl -}}
{{- $errors = append $errors "config.publicBaseUrl is required: the origin short URLs are built from, e.g. https://sho.rt" -}}
{{- end -}}
{{- $refs := $v.secrets.refs -}}
{{- range $env, $spec := (include "shortener.allSecretVars" . | fromJson) -}}
{{- $key := first $spec -}}
{{- $value := get $v.secrets $key -}}
{{- if and $value $v.secrets.existingSecret -}}
{{- $errors = append $errors (printf "secrets.%s must be empty when secrets.existingSecret is set: the value lives in that Secret" $key) -}}
{{- else if and $value (hasKey $refs $env) -}}
{{- $errors = append $errors (printf "secrets.%s must be empty when secrets.refs.%s is set: the value lives in that Secret" $key $env) -}}
{{- else if and (last $spec) (not $value) (not $v.secrets.existingSecret) (not (hasKey $refs $env)) -}}
{{- $errors = append $errors (printf "secrets.%s is required (or set secrets.refs.%s, or secrets.existingSecret)" $key $env) -}}
{{- end -}}
{{- end -}}
{{- if and $v.tests.enabled (not $v.secrets.bootstrapAdminKey) (not $v.secrets.existingSecret) (not (hasKey $refs "BOOTSTRAP_ADMIN_KEY")) -}}
{{- $errors = append $errors "tests.enabled needs secrets.bootstrapAdminKey: the helm test creates a link with it (or set tests.enabled=false)" -}}
{{- end -}}
{{- range $c := list "api" "worker" -}}
{{- $a := (get $v $c).autoscaling -}}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) -}}
{{- $errors = append $errors (printf "%s.autoscaling.minReplicas (%d) is above maxReplicas (%d)" $c (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- end -}}
{{- if and $a.enabled (not (get (get $v $c).resources.requests "cpu")) -}}
{{- $errors = append $errors (printf "%s.autoscaling needs %s.resources.requests.cpu: the CPU target is a share of it" $c $c) -}}
{{- end -}}
{{- $oldSpace := include "shortener.maxOldSpaceMiB" (get $v $c).nodeOptions -}}
{{- $limit := include "shortener.quantityMiB" (get (get $v $c).resources.limits "memory") -}}
{{- if and $oldSpace $limit (ge (float64 $oldSpace) (float64 $limit)) -}}
{{- $errors = append $errors (printf "%s.nodeOptions sets --max-old-space-size=%s (MiB), not below %s.resources.limits.memory (%v): the container would be killed for memory before V8 collects its garbage" $c $oldSpace $c (get (get $v $c).resources.limits "memory")) -}}
{{- end -}}
{{- end -}}
{{- $keda := $v.worker.autoscaling.keda -}}
{{- if $keda.enabled -}}
{{- if not $v.worker.autoscaling.enabled -}}
{{- $errors = append $errors "worker.autoscaling.keda.enabled needs worker.autoscaling.enabled (minReplicas and maxReplicas bound KEDA too)" -}}
{{- end -}}
{{- if and (eq $keda.source "redis") (not $keda.redis.address) -}}
{{- $errors = append $errors "worker.autoscaling.keda.source=redis needs worker.autoscaling.keda.redis.address (host:port of the queue Redis)" -}}
{{- end -}}
{{- if and (eq $keda.source "prometheus") (not $keda.prometheus.serverAddress) -}}
{{- $errors = append $errors "worker.autoscaling.keda.source=prometheus needs worker.autoscaling.keda.prometheus.serverAddress" -}}
{{- end -}}
{{- end -}}
{{- if and $v.otel.enabled (not $v.otel.endpoint) -}}
{{- $errors = append $errors "otel.enabled needs otel.endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)" -}}
{{- end -}}
{{- if eq (int $v.api.ports.http) (int $v.api.ports.management) -}}
{{- $errors = append $errors "api.ports.http and api.ports.management must differ: the management port is never public" -}}
{{- end -}}
{{- if $v.ingress.enabled -}}
{{- $needed := add $v.config.links.maxTargetLengthBytes 4096 -}}
{{- if lt (mul $v.ingress.proxyBufferSizeKiB 1024) $needed -}}
{{- $errors = append $errors (printf "ingress.proxyBufferSizeKiB (%d) cannot hold a Location of config.links.maxTargetLengthBytes (%d) plus 4 KiB of headers: use at least %d" (int $v.ingress.proxyBufferSizeKiB) (int $v.config.links.maxTargetLengthBytes) (int (div (add $needed 1023) 1024))) -}}
{{- end -}}
{{- end -}}
{{- if hasKey $v.migrations.annotations "helm.sh/hook" -}}
{{- $errors = append $errors "migrations.annotations cannot set helm.sh/hook: migrations run before the new code, as a pre-install,pre-upgrade hook" -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\nshortener: invalid values:\n- %s" (join "\n- " $errors)) -}}
{{- end -}}
{{- end -}}

{{/* The last --max-old-space-size (or --max_old_space_size) of a NODE_OPTIONS string, in MiB; empty when absent. */}}
{{- define "shortener.maxOldSpaceMiB" -}}
{{- $flags := regexFindAll "--max[-_]old[-_]space[-_]size=[0-9]+" (toString .) -1 -}}
{{- if $flags -}}{{- regexReplaceAll "^.*=" (last $flags) "" -}}{{- end -}}
{{- end -}}

{{/* A Kubernetes memory quantity (`512Mi`, `1G`, bytes) in MiB; empty when unset. */}}
{{- define "shortener.quantityMiB" -}}
{{- if not . -}}
{{- else if kindIs "string" . -}}
{{- $m := regexFind "^[0-9]+(\\.[0-9]+)?" . -}}
{{- $unit := trimPrefix $m . -}}
{{- $perUnit := dict "" 0.00000095367431640625 "m" 0.00000000095367431640625 "k" 0.00095367431640625 "M" 0.95367431640625 "G" 953.67431640625 "T" 953674.31640625 "Ki" 0.0009765625 "Mi" 1.0 "Gi" 1024.0 "Ti" 1048576.0 -}}
{{- mulf (float64 $m) (get $perUnit $unit) -}}
{{- else -}}
{{- divf (float64 .) 1048576 -}}
{{- end -}}
{{- end -}}
