#!/usr/bin/env bash
# The kn path: creates the three Knative Services (payment, Antaeus's billing lanes, Antaeus) and
# both PingSources with kn, to the same effective spec as knative/*/service.yaml,
# knative/antaeus/billing-service.yaml and knative/antaeus/pingsource.yaml. Run it once, after the
# platform objects (namespaces, Secrets, PostgreSQL, NetworkPolicies, RBAC):
#
#   kubectl apply -k knative/before-kn/
#   REGISTRY=ghcr.io/your-org TAG=$(git rev-parse --short HEAD) scripts/kn-deploy.sh
#
# Needs kn 1.11 or newer (--security-context) and kubectl 1.31 or newer. Every kn flag used here
# is one kn documents; test/knative/kn-flags.ts lists them with the releases they were read from.
#
# What kn has no flag for is set by kubectl right after each create: the container's name, its
# startup probe, its security context with a read-only root filesystem, Antaeus's projected
# tokens, and the PingSources' content type. Each patch sets whole fields, so it never depends on
# what a kn release did or did not add (kn's --security-context default differs by release).
set -euo pipefail

: "${REGISTRY:?set REGISTRY to the registry your cluster pulls from, e.g. ghcr.io/your-org}"
: "${TAG:?set TAG to the image tag you pushed}"

kn_help=$(kn service create --help)
if [[ $kn_help != *--security-context* ]]; then
  echo "kn-deploy: this kn has no --security-context flag; kn 1.11 or newer is needed" >&2
  exit 1
fi

# Waits until Knative has reconciled the Service's latest spec and that revision is ready.
wait_ready() {
  local generation
  generation=$(kubectl get ksvc "$1" -n "$2" -o jsonpath='{.metadata.generation}')
  kubectl wait ksvc "$1" -n "$2" --for=jsonpath='{.status.observedGeneration}'="$generation" \
    --timeout=5m
  kubectl wait ksvc "$1" -n "$2" --for=condition=Ready --timeout=5m
}

# JSON patch operations (RFC 6902 "add" of whole fields, which replaces what is there) for what
# kn cannot set on the container: its name, its security context (kn's "strict" plus a read-only
# root) and its startup probe, which must name the app's port (Knative passes it on as written).
container_patch() {
  local name=$1 startup_failures=$2
  cat <<EOF
{"op": "add", "path": "/spec/template/spec/containers/0/name", "value": "$name"},
{"op": "add", "path": "/spec/template/spec/containers/0/securityContext", "value": {
  "runAsNonRoot": true, "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
  "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}},
{"op": "add", "path": "/spec/template/spec/containers/0/startupProbe", "value": {
  "httpGet": {"path": "/healthz", "port": 8080},
  "periodSeconds": 1, "timeoutSeconds": 1, "failureThreshold": $startup_failures}}
EOF
}

# What both functions share: their port, kn's strict security context (given, never left to
# kn's default, which differs by release) and their probes.
shared=(
  --port http1:8080 --security-context strict
  --probe-readiness http:::/readyz
  --probe-readiness-opts "PeriodSeconds=1,TimeoutSeconds=3,FailureThreshold=3"
  --probe-liveness http:::/healthz
  --probe-liveness-opts "PeriodSeconds=10,TimeoutSeconds=3,FailureThreshold=3"
)

echo "Waiting for both databases"
kubectl rollout status statefulset/postgres -n payment --timeout=5m
kubectl rollout status statefulset/postgres -n antaeus --timeout=5m

# Payment first: Antaeus calls it. --no-wait: the revision kn creates lacks what the patch adds,
# so the wait is for the patched one.
kn service create payment -n payment --no-wait \
  --image "$REGISTRY/payment:$TAG" "${shared[@]}" \
  --cluster-local --service-account payment \
  --label app.kubernetes.io/name=payment --label-service app.kubernetes.io/part-of=antaeus-billing \
  --scale-min 0 --scale-max 5 --concurrency-limit 50 --timeout 30 \
  --request cpu=100m,memory=128Mi --limit cpu=1,memory=256Mi \
  --env LOG_LEVEL=info \
  --env-value-from DATABASE_URL=secret:database:url \
  --env DATABASE_POOL_MAX=10 \
  --env MIGRATE_ON_START=true \
  --env PAYMENT_SUCCESS_RATE=0.5 \
  --env PAYMENT_AUTH=jwks \
  --env PAYMENT_AUTH_AUDIENCE=payment \
  --env PAYMENT_AUTH_SUBJECT=system:serviceaccount:antaeus:antaeus \
  --env METRICS_PORT=9464
kubectl patch ksvc payment -n payment --type=json -p "[$(container_patch payment 120)]"
wait_ready payment payment

# kn's --mount knows ConfigMaps, Secrets, emptyDir and PVCs, not a projected service-account
# token: Antaeus's identity for payment (audience "payment") and for itself (audience "antaeus"),
# an hour each, rotated by the kubelet. The auth ConfigMap (from before-kn) is mounted in the
# same patch, so the volume names are the YAML's. Both Antaeus Services get it.
antaeus_patch() {
  cat <<EOF
[$(container_patch antaeus 180),
{"op": "add", "path": "/spec/template/spec/containers/0/volumeMounts", "value": [
  {"name": "payment-token", "mountPath": "/var/run/secrets/tokens", "readOnly": true},
  {"name": "auth-config", "mountPath": "/etc/antaeus", "readOnly": true}]},
{"op": "add", "path": "/spec/template/spec/volumes", "value": [
  {"name": "payment-token", "projected": {"sources": [
    {"serviceAccountToken": {"audience": "payment", "expirationSeconds": 3600, "path": "payment-token"}},
    {"serviceAccountToken": {"audience": "antaeus", "expirationSeconds": 3600, "path": "antaeus-token"}}]}},
  {"name": "auth-config", "configMap": {"name": "antaeus-auth"}}]}]
EOF
}

# What the two Antaeus Services share: the image and the account payment trusts.
antaeus_shared=(--image "$REGISTRY/antaeus:$TAG" "${shared[@]}" --service-account antaeus)

# The billing lanes before the API, which starts them: one request per pod (--concurrency-limit
# 1), at most BILLING_LANES pods. Antaeus starts without its payment token (the file is read per
# charge, and a charge tried without it is not sent), so nothing waits on the token volume the
# patch adds.
kn service create antaeus-billing -n antaeus --no-wait "${antaeus_shared[@]}" \
  --cluster-local \
  --label app.kubernetes.io/name=antaeus-billing \
  --label-service app.kubernetes.io/part-of=antaeus-billing \
  --scale-min 0 --scale-max 5 --concurrency-limit 1 --timeout 300 \
  --request cpu=250m,memory=256Mi --limit cpu=1,memory=512Mi \
  --env LOG_LEVEL=info \
  --env-value-from DATABASE_URL=secret:database:url \
  --env DATABASE_POOL_MAX=5 \
  --env SHUTDOWN_TIMEOUT_MS=60000 \
  --env MIGRATE_ON_START=true \
  --env SEED_ENABLED=false \
  --env PAYMENT_PROVIDER_ENDPOINT=http://payment.payment.svc.cluster.local/v1/charges \
  --env PAYMENT_TOKEN_FILE=/var/run/secrets/tokens/payment-token \
  --env PAYMENT_TIMEOUT_MS=3000 \
  --env PAYMENT_RETRIES=3 \
  --env BILLING_CONCURRENCY=64 \
  --env BILLING_LANES=5 \
  --env BILLING_PROVIDER_RATE_LIMIT=100 \
  --env BILLING_REQUEST_BUDGET_MS=240000 \
  --env BILLING_LANE_URL=http://antaeus-billing.antaeus.svc.cluster.local \
  --env BILLING_SELF_TOKEN_FILE=/var/run/secrets/tokens/antaeus-token \
  --env ANTAEUS_AUTH=on \
  --env ANTAEUS_AUTH_CONFIG_FILE=/etc/antaeus/auth.json \
  --env ANTAEUS_AUTH_OPEN_ROUTES=none \
  --env METRICS_PORT=9464
kubectl patch ksvc antaeus-billing -n antaeus --type=json -p "$(antaeus_patch)"
wait_ready antaeus-billing antaeus

kn service create antaeus -n antaeus --no-wait "${antaeus_shared[@]}" \
  --label app.kubernetes.io/name=antaeus --label-service app.kubernetes.io/part-of=antaeus-billing \
  --scale-min 0 --scale-max 5 --concurrency-limit 10 --timeout 300 \
  --request cpu=250m,memory=256Mi --limit cpu=1,memory=512Mi \
  --env LOG_LEVEL=info \
  --env-value-from DATABASE_URL=secret:database:url \
  --env DATABASE_POOL_MAX=10 \
  --env SHUTDOWN_TIMEOUT_MS=60000 \
  --env MIGRATE_ON_START=true \
  --env SEED_ENABLED=true \
  --env PAYMENT_PROVIDER_ENDPOINT=http://payment.payment.svc.cluster.local/v1/charges \
  --env PAYMENT_TOKEN_FILE=/var/run/secrets/tokens/payment-token \
  --env PAYMENT_TIMEOUT_MS=3000 \
  --env PAYMENT_RETRIES=3 \
  --env BILLING_CONCURRENCY=64 \
  --env BILLING_LANES=5 \
  --env BILLING_PROVIDER_RATE_LIMIT=100 \
  --env BILLING_REQUEST_BUDGET_MS=240000 \
  --env BILLING_LANE_URL=http://antaeus-billing.antaeus.svc.cluster.local \
  --env BILLING_SELF_TOKEN_FILE=/var/run/secrets/tokens/antaeus-token \
  --env ANTAEUS_AUTH=on \
  --env ANTAEUS_AUTH_CONFIG_FILE=/etc/antaeus/auth.json \
  --env ANTAEUS_AUTH_OPEN_ROUTES="${ANTAEUS_AUTH_OPEN_ROUTES:-original}" \
  --env METRICS_PORT=9464
kubectl patch ksvc antaeus -n antaeus --type=json -p "$(antaeus_patch)"
wait_ready antaeus antaeus

# The triggers last, so no scheduled run starts before Antaeus holds its token. kn has no
# timezone flag: PingSource reads a CRON_TZ= prefix as the same schedule. Nor a content-type
# flag, nor one for the sink's audience (Eventing OIDC, docs/deploy.md): the merge patch sets
# both (an event in between would lack only the header, which Antaeus does not need, and the
# token, which only the production profile asks for). The sink is the URL the YAML's ref + uri resolves to.
kn source ping create monthly-billing -n antaeus \
  --schedule "CRON_TZ=Europe/Copenhagen 0 0 1 * *" \
  --data '{"reason":"monthly billing"}' \
  --sink http://antaeus.antaeus.svc.cluster.local/rest/v1/invoices/pay
kubectl patch pingsource monthly-billing -n antaeus --type=merge \
  -p '{"spec": {"contentType": "application/json", "sink": {"audience": "antaeus"}}}'

kn source ping create billing-watchdog -n antaeus \
  --schedule "CRON_TZ=Europe/Copenhagen 0 * * * *" \
  --data '{"reason":"resume a stalled billing run"}' \
  --sink http://antaeus.antaeus.svc.cluster.local/rest/v1/billing/resume
kubectl patch pingsource billing-watchdog -n antaeus --type=merge \
  -p '{"spec": {"contentType": "application/json", "sink": {"audience": "antaeus"}}}'

kubectl get ksvc -n payment payment
kubectl get ksvc -n antaeus antaeus antaeus-billing
kubectl get pingsource -n antaeus
