{{/* Chart name, truncated to the 63 characters DNS labels allow. */}}
{{- define "kafka-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; a release already named after the chart is not doubled. */}}
{{- define "kafka-gateway.fullname" -}}
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

{{- define "kafka-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kafka-gateway.labels" -}}
helm.sh/chart: {{ include "kafka-gateway.chart" . }}
{{ include "kafka-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "kafka-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kafka-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kafka-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kafka-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kafka-gateway.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The Secret the chart creates for secrets given inline in values. */}}
{{- define "kafka-gateway.secretName" -}}
{{- printf "%s-secrets" (include "kafka-gateway.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Every secret file the pod mounts, as YAML `files: [...]`. A group is one directory under secretsMountPath, backed by
either the group's existingSecret (the keys named in existingSecretKeys) or the chart's Secret (values given inline).
`env` is the setting that points at the file: the gateway's file settings (KAFKA_SSL_CA_FILE, AUTH_PUBLIC_KEY_FILE,
TLS_CERT_FILE, ...) or the <NAME>_FILE variant of a secret setting (KAFKA_SASL_PASSWORD_FILE, ...).
*/}}
{{- define "kafka-gateway.secretFiles" -}}
{{- $groups := list
  (dict "name" "kafka-tls" "v" .Values.kafka.tls "files" (list
    (dict "field" "ca" "file" "ca.crt" "env" "KAFKA_SSL_CA_FILE")
    (dict "field" "cert" "file" "tls.crt" "env" "KAFKA_SSL_CERT_FILE")
    (dict "field" "key" "file" "tls.key" "env" "KAFKA_SSL_KEY_FILE")
    (dict "field" "keyPassword" "file" "key-password" "env" "KAFKA_SSL_KEY_PASSWORD_FILE")))
  (dict "name" "kafka-sasl" "v" .Values.kafka.sasl "files" (list
    (dict "field" "username" "file" "username" "env" "KAFKA_SASL_USERNAME_FILE")
    (dict "field" "password" "file" "password" "env" "KAFKA_SASL_PASSWORD_FILE")))
  (dict "name" "kafka-oauth" "v" .Values.kafka.oauth "files" (list
    (dict "field" "clientId" "file" "client-id" "env" "KAFKA_OAUTH_CLIENT_ID_FILE")
    (dict "field" "clientSecret" "file" "client-secret" "env" "KAFKA_OAUTH_CLIENT_SECRET_FILE")))
  (dict "name" "auth-jwt" "v" .Values.auth "files" (list
    (dict "field" "publicKey" "file" "public.pem" "env" "AUTH_PUBLIC_KEY_FILE")
    (dict "field" "hs256Secret" "file" "hs256-secret" "env" "AUTH_HS256_SECRET_FILE")))
  (dict "name" "server-tls" "v" .Values.serverTls "files" (list
    (dict "field" "cert" "file" "tls.crt" "env" "TLS_CERT_FILE")
    (dict "field" "key" "file" "tls.key" "env" "TLS_KEY_FILE")))
-}}
{{- if .Values.peers.enabled }}
{{- $groups = append $groups (dict "name" "peers" "v" .Values.peers "files" (list
    (dict "field" "secret" "file" "peer-secret" "env" "PEER_SECRET_FILE"))) -}}
{{- end }}
{{- $chartSecret := include "kafka-gateway.secretName" . -}}
{{- $mount := .Values.secretsMountPath | trimSuffix "/" -}}
{{- $out := list -}}
{{- range $g := $groups }}
{{- range $f := $g.files }}
{{- $entry := dict "group" $g.name "file" $f.file "env" $f.env "path" (printf "%s/%s/%s" $mount $g.name $f.file) -}}
{{- if $g.v.existingSecret }}
{{- $keys := $g.v.existingSecretKeys | default dict -}}
{{- $key := index $keys $f.field | default "" -}}
{{- if $key }}
{{- $out = append $out (merge $entry (dict "secret" $g.v.existingSecret "key" $key "inline" false)) -}}
{{- end }}
{{- else }}
{{- $value := index $g.v $f.field | default "" -}}
{{- if $value }}
{{- $out = append $out (merge $entry (dict "secret" $chartSecret "key" (printf "%s-%s" $g.name $f.file) "inline" true "value" $value)) -}}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- dict "files" $out | toYaml }}
{{- end }}

{{/* Whether a secret group provides a given file (by env name), for validation. */}}
{{- define "kafka-gateway.hasFile" -}}
{{- $env := index . 1 -}}
{{- range (include "kafka-gateway.secretFiles" (index . 0) | fromYaml).files }}
{{- if eq .env $env }}true{{ end }}
{{- end }}
{{- end }}

{{- define "kafka-gateway.serverTls" -}}
{{- if or .Values.serverTls.existingSecret .Values.serverTls.cert }}true{{ end }}
{{- end }}

{{- define "kafka-gateway.terminationGracePeriodSeconds" -}}
{{- if .Values.shutdown.terminationGracePeriodSeconds }}
{{- .Values.shutdown.terminationGracePeriodSeconds }}
{{- else }}
{{- add .Values.shutdown.preStopSleepSeconds .Values.shutdown.timeoutSeconds 10 }}
{{- end }}
{{- end }}

{{/*
Settings the chart derives from structured values (ConfigMap). `config` may add others but not these, and never a
secret: those are mounted as files.
*/}}
{{- define "kafka-gateway.configData" -}}
{{- $d := dict
  "PORT" (toString .Values.containerPort)
  "KAFKA_BROKERS" .Values.kafka.brokers
  "KAFKA_CLIENT_ID" .Values.kafka.clientId
  "KAFKA_SSL" (ternary "true" "false" (or .Values.kafka.tls.enabled (include "kafka-gateway.hasFile" (list . "KAFKA_SSL_CA_FILE") | eq "true") (include "kafka-gateway.hasFile" (list . "KAFKA_SSL_CERT_FILE") | eq "true")))
  "KAFKA_SSL_REJECT_UNAUTHORIZED" (toString .Values.kafka.tls.rejectUnauthorized)
  "AUTH_MODE" .Values.auth.mode
  "SHUTDOWN_TIMEOUT_MS" (toString (mul .Values.shutdown.timeoutSeconds 1000))
  "WORKERS" (toString .Values.workers)
-}}
{{- with .Values.kafka.sasl.mechanism }}{{ $_ := set $d "KAFKA_SASL_MECHANISM" . }}{{ end }}
{{- with .Values.kafka.oauth.tokenUrl }}{{ $_ := set $d "KAFKA_OAUTH_TOKEN_URL" . }}{{ end }}
{{- with .Values.kafka.oauth.scope }}{{ $_ := set $d "KAFKA_OAUTH_SCOPE" . }}{{ end }}
{{- with .Values.auth.jwksUrl }}{{ $_ := set $d "AUTH_JWKS_URL" . }}{{ end }}
{{- with .Values.auth.issuer }}{{ $_ := set $d "AUTH_ISSUER" . }}{{ end }}
{{- with .Values.auth.audience }}{{ $_ := set $d "AUTH_AUDIENCE" . }}{{ end }}
{{- with .Values.auth.algorithms }}{{ $_ := set $d "AUTH_ALGORITHMS" . }}{{ end }}
{{- if .Values.peers.enabled }}
{{- $scheme := ternary "https" "http" (eq (include "kafka-gateway.serverTls" .) "true") -}}
{{- $_ := set $d "PEER_URLS" (printf "%s://%s.%s.svc:%v" $scheme (include "kafka-gateway.peersService" .) .Release.Namespace .Values.containerPort) }}
{{- end }}
{{- $managed := keys $d -}}
{{- $secretNames := list "KAFKA_SSL_KEY_PASSWORD" "KAFKA_SASL_USERNAME" "KAFKA_SASL_PASSWORD" "KAFKA_OAUTH_CLIENT_ID" "KAFKA_OAUTH_CLIENT_SECRET" "AUTH_HS256_SECRET" "PEER_SECRET" -}}
{{- $fileNames := list "KAFKA_SSL_CA_FILE" "KAFKA_SSL_CERT_FILE" "KAFKA_SSL_KEY_FILE" "AUTH_PUBLIC_KEY_FILE" "TLS_CERT_FILE" "TLS_KEY_FILE" -}}
{{- range $k, $v := .Values.config }}
{{- if not (regexMatch "^[A-Z][A-Z0-9_]*$" $k) }}
{{- fail (printf "config.%s: setting names are UPPER_SNAKE (see docs/configuration.md)" $k) }}
{{- end }}
{{- if or (has $k $secretNames) (has (trimSuffix "_FILE" $k) $secretNames) (has $k $fileNames) }}
{{- fail (printf "config.%s: a secret or secret file does not belong in the ConfigMap; use the chart's kafka.tls/kafka.sasl/kafka.oauth/auth/serverTls values (mounted as files)" $k) }}
{{- end }}
{{- if has $k $managed }}
{{- fail (printf "config.%s: set by the chart from structured values (kafka.*, auth.*, containerPort, shutdown.*, workers); set it there" $k) }}
{{- end }}
{{- $_ := set $d $k (toString $v) }}
{{- end }}
{{- toYaml $d }}
{{- end }}

{{/* The headless Service that lists the replicas to each other (peers.enabled). */}}
{{- define "kafka-gateway.peersService" -}}
{{- printf "%s-peers" (include "kafka-gateway.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Refuse combinations the gateway would refuse at start-up, at render time instead. */}}
{{- define "kafka-gateway.validate" -}}
{{- if not .Values.kafka.brokers }}
{{- fail "kafka.brokers is required (comma list of host:port)" }}
{{- end }}
{{- if not (regexMatch "^([1-9][0-9]{0,2}|auto)$" (toString .Values.workers)) }}
{{- fail (printf "workers: expected a whole number from 1 to 256 or auto, got %q" (toString .Values.workers)) }}
{{- end }}
{{- if and (ne (toString .Values.workers) "auto") (gt (int .Values.workers) 256) }}
{{- fail (printf "workers: expected a whole number from 1 to 256 or auto, got %q" (toString .Values.workers)) }}
{{- end }}
{{- if not (has .Values.auth.mode (list "jwt" "none")) }}
{{- fail (printf "auth.mode: expected jwt or none, got %q" .Values.auth.mode) }}
{{- end }}
{{- $has := dict -}}
{{- range (include "kafka-gateway.secretFiles" . | fromYaml).files }}{{ $_ := set $has .env true }}{{ end }}
{{- if and .Values.peers.enabled (not (hasKey $has "PEER_SECRET_FILE")) }}
{{- fail "peers.enabled needs peers.secret (>= 32 bytes) or peers.existingSecret: replicas sign their calls to each other with it" }}
{{- end }}
{{- if and .Values.peers.secret (lt (len .Values.peers.secret) 32) }}
{{- fail "peers.secret: at least 32 bytes" }}
{{- end }}
{{- $m := .Values.kafka.sasl.mechanism -}}
{{- if and $m (not (has $m (list "plain" "scram-sha-256" "scram-sha-512" "oauthbearer"))) }}
{{- fail (printf "kafka.sasl.mechanism: expected plain, scram-sha-256, scram-sha-512 or oauthbearer, got %q" $m) }}
{{- end }}
{{- if and $m (ne $m "oauthbearer") (not (and $has.KAFKA_SASL_USERNAME_FILE $has.KAFKA_SASL_PASSWORD_FILE)) }}
{{- fail (printf "kafka.sasl: %s needs a username and a password (inline or existingSecret + existingSecretKeys)" $m) }}
{{- end }}
{{- if and (eq $m "oauthbearer") (not (and .Values.kafka.oauth.tokenUrl $has.KAFKA_OAUTH_CLIENT_ID_FILE $has.KAFKA_OAUTH_CLIENT_SECRET_FILE)) }}
{{- fail "kafka.oauth: oauthbearer needs tokenUrl, clientId and clientSecret" }}
{{- end }}
{{- if ne (hasKey $has "KAFKA_SSL_CERT_FILE") (hasKey $has "KAFKA_SSL_KEY_FILE") }}
{{- fail "kafka.tls: cert and key go together (mutual TLS)" }}
{{- end }}
{{- if ne (hasKey $has "TLS_CERT_FILE") (hasKey $has "TLS_KEY_FILE") }}
{{- fail "serverTls: cert and key go together (for existingSecret: a kubernetes.io/tls Secret)" }}
{{- end }}
{{- if eq .Values.auth.mode "jwt" }}
{{- $sources := 0 -}}
{{- if .Values.auth.jwksUrl }}{{ $sources = add1 $sources }}{{ end }}
{{- if $has.AUTH_PUBLIC_KEY_FILE }}{{ $sources = add1 $sources }}{{ end }}
{{- if $has.AUTH_HS256_SECRET_FILE }}{{ $sources = add1 $sources }}{{ end }}
{{- if gt $sources 1 }}
{{- fail "auth: jwt takes exactly one key source: jwksUrl, publicKey or hs256Secret" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Whether auth.mode=jwt has no key source yet (the pods would refuse to start): NOTES warns. */}}
{{- define "kafka-gateway.authMissingKey" -}}
{{- if and (eq .Values.auth.mode "jwt") (not .Values.auth.jwksUrl) (not (include "kafka-gateway.hasFile" (list . "AUTH_PUBLIC_KEY_FILE"))) (not (include "kafka-gateway.hasFile" (list . "AUTH_HS256_SECRET_FILE"))) }}true{{ end }}
{{- end }}
