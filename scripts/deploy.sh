#!/usr/bin/env bash
# The whole deployment in one command, on any conformant cluster with Knative Serving and
# Eventing, nothing to edit but the registry:
#
#   REGISTRY=ghcr.io/your-org scripts/deploy.sh [challenge|production] [--kn]
#   scripts/deploy.sh [challenge|production] [--kn] --check      # look, change nothing
#
# It builds and pushes both images (docker or podman), reads what it needs from the cluster (the
# API server's addresses, its service-account issuer, Knative's domain and gateway), creates each
# database Secret with a random password where none exists (never replacing one), applies the
# profile (kubectl apply -k, or the kn path: scripts/kn-deploy.sh), waits until every Knative
# Service of the profile is Ready, and prints the URL and the judged calls. Run it again to
# upgrade: same Secrets, new images, new revisions.
#
# Environment: REGISTRY (required to deploy), TAG (default: the commit, plus the time when the
# tree has changes), CONTAINER_ENGINE (docker or podman; default: whichever answers),
# CONTAINER_BUILD_FLAGS (extra build flags), DEPLOY_TIMEOUT (per Service, default 5m),
# DEPLOY_RUN (the folder under .deploy/ the generated kustomization goes to; default the profile).
#
# Every kubectl, kn, docker and podman flag used here is one their documentation or source
# lists; test/knative/cli-flags.ts names each with the release it was read from.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: REGISTRY=<registry> scripts/deploy.sh [challenge|production] [--kn]
       scripts/deploy.sh [challenge|production] [--kn] --check
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
profile=challenge
use_kn=false
check_only=false
for arg in "$@"; do
  case $arg in
    challenge | production) profile=$arg ;;
    --kn) use_kn=true ;;
    --check) check_only=true ;;
    -h | --help) usage && exit 0 ;;
    *) echo "deploy: unknown argument \"$arg\"" >&2 && usage >&2 && exit 2 ;;
  esac
done
profile_dir=knative
[[ $profile == challenge ]] || profile_dir=knative/production
timeout=${DEPLOY_TIMEOUT:-5m}

say() { printf '%s\n' "$*"; }
fail() {
  printf 'deploy: %s\n' "$*" >&2
  exit 1
}

# --- what the profile holds ----------------------------------------------------------------------

# One line per rendered object: apiVersion kind namespace name images (kustomize prints each
# object with sorted keys, metadata's own fields two spaces in).
objects_of() {
  awk '
    function flush() {
      if (kind != "") print api, kind, (ns == "" ? "-" : ns), name, (images == "" ? "-" : images)
      api = kind = ns = name = images = ""; meta = 0
    }
    /^---$/ { flush(); next }
    /^[^ ]/ { meta = 0 }
    /^apiVersion: / { api = $2 }
    /^kind: / { kind = $2 }
    /^metadata:/ { meta = 1; next }
    meta && /^  name: / { name = $2 }
    meta && /^  namespace: / { ns = $2 }
    /^ +(- )?image: / { images = (images == "" ? $NF : images "," $NF) }
    END { flush() }
  '
}

# The documents of one kind, as YAML.
documents_of_kind() {
  awk -v want="$1" '
    function flush() { if (doc ~ ("\nkind: " want "\n")) printf "---%s", doc; doc = "\n" }
    BEGIN { doc = "\n" }
    /^---$/ { flush(); next }
    { doc = doc $0 "\n" }
    END { flush() }
  '
}

rendered=$(kubectl kustomize "$ROOT/$profile_dir")
objects=$(objects_of <<<"$rendered")
# Every Knative Service of the profile, as NAMESPACE/NAME: what the deploy waits for.
read -r -a services <<<"$(awk '$1 == "serving.knative.dev/v1" && $2 == "Service" { printf "%s/%s ", $3, $4 }' <<<"$objects")"
# Every namespace with a PostgreSQL: each needs its database Secret.
read -r -a databases <<<"$(awk '$2 == "StatefulSet" && $4 == "postgres" { printf "%s ", $3 }' <<<"$objects")"
# The functions the repository builds: one Dockerfile each.
functions=()
for dockerfile in "$ROOT"/Dockerfile.*; do functions+=("${dockerfile##*/Dockerfile.}"); done

# --- what the cluster has ------------------------------------------------------------------------

version_label='{.metadata.labels.app\.kubernetes\.io/version}'
serving=$(kubectl get deployment controller -n knative-serving -o jsonpath="$version_label" 2>/dev/null) || serving=""
eventing=$(kubectl get deployment eventing-controller -n knative-eventing -o jsonpath="$version_label" 2>/dev/null) || eventing=""
ingress_class=$(kubectl get configmap config-network -n knative-serving -o jsonpath='{.data.ingress-class}{.data.ingress\.class}' 2>/dev/null) || ingress_class=""

# Kourier's gateway: kourier-system from its own manifest, knative-serving under the Operator.
gateway_namespace="" gateway_address=""
for namespace in kourier-system knative-serving; do
  if found=$(kubectl get service kourier -n "$namespace" -o jsonpath='{.metadata.name} {.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}' 2>/dev/null); then
    gateway_namespace=$namespace
    gateway_address=${found#kourier }
    break
  fi
done

# NetworkPolicy is enforced by the network plugin, and the API does not say whether one does:
# known enforcing agents are recognised by their DaemonSet in kube-system.
daemonsets=$(kubectl get daemonsets -n kube-system -o jsonpath='{.items[*].metadata.name}' 2>/dev/null) || daemonsets=""
policy_agent=""
for daemonset in $daemonsets; do
  case $daemonset in
    calico-node | canal) policy_agent="Calico ($daemonset): enforced" ;;
    cilium) policy_agent="Cilium: enforced" ;;
    anetd) policy_agent="GKE Dataplane V2 (anetd): enforced" ;;
    antrea-agent) policy_agent="Antrea: enforced" ;;
    kube-router) policy_agent="kube-router: enforced" ;;
    weave-net) policy_agent="Weave Net: enforced" ;;
    azure-npm) policy_agent="Azure Network Policy Manager: enforced" ;;
    aws-node) policy_agent="Amazon VPC CNI (aws-node): enforced only where its network policy agent is turned on, which the API does not show" ;;
    kindnet) policy_agent="kindnet: enforced only by recent kind releases, which the API does not show" ;;
  esac
done
if [[ -z $policy_agent ]]; then
  policy_agent="not known: no DaemonSet in kube-system is an agent known to enforce NetworkPolicy (${daemonsets:-none found})"
fi

discovery=$(kubectl get --raw /.well-known/openid-configuration 2>/dev/null) || discovery=""
issuer=""
if [[ $discovery =~ \"issuer\"[[:space:]]*:[[:space:]]*\"([^\"]+)\" ]]; then issuer=${BASH_REMATCH[1]}; fi

api_slice() {
  kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes -o jsonpath="$1" 2>/dev/null || true
}
read -r -a api_addresses <<<"$(api_slice '{.items[*].endpoints[*].addresses[*]}')"
read -r -a api_ports <<<"$(api_slice '{.items[*].ports[*].port}' | tr ' ' '\n' | sort -un | tr '\n' ' ')"

# The route domain: the first key of config-domain (Knative's default, example.com, when none).
# shellcheck disable=SC2016 # a Go template, for kubectl
domain_keys=$(kubectl get configmap config-domain -n knative-serving -o go-template='{{range $k, $v := .data}}{{$k}}{{"\n"}}{{end}}' 2>/dev/null) || domain_keys=""
domain=$(awk '!/^_/ { print; exit }' <<<"$domain_keys")
domain=${domain:-example.com}

# curl exits 6 when it cannot resolve the host (its documented exit codes).
resolves() {
  local code=0
  curl -s -o /dev/null --max-time 5 "$1" || code=$?
  case $code in
    6) echo no ;;
    0) echo yes ;;
    *) echo "resolves, but no answer (curl exit $code)" ;;
  esac
}
public_host=antaeus.antaeus.$domain
domain_resolves=$(resolves "http://$public_host/healthz")

# --- the plan ------------------------------------------------------------------------------------

secret_plan=()
for namespace in "${databases[@]}"; do
  if kubectl get secret database -n "$namespace" -o name >/dev/null 2>&1; then
    secret_plan+=("$namespace/database: keep (it exists)")
  else
    secret_plan+=("$namespace/database: create, with a random password")
  fi
done

egress=()
for address in "${api_addresses[@]}"; do
  if [[ $address == *:* ]]; then egress+=("$address/128"); else egress+=("$address/32"); fi
done

engine=${CONTAINER_ENGINE:-}
if [[ -z $engine ]]; then
  for candidate in docker podman; do
    if "$candidate" version >/dev/null 2>&1; then
      engine=$candidate
      break
    fi
  done
fi

say "Cluster"
say "  Knative Serving    ${serving:-not installed}"
say "  Knative Eventing   ${eventing:-not installed}"
if [[ $ingress_class == kourier.* ]]; then
  say "  gateway            Kourier, service kourier in ${gateway_namespace:-(not found)}, external address ${gateway_address:-none}"
else
  say "  gateway            not Kourier (${ingress_class:-no ingress class}): put its namespace where the NetworkPolicies name Kourier's (docs/deploy.md)"
fi
say "  NetworkPolicies    $policy_agent"
say "  issuer             ${issuer:-unknown (no discovery document)}: each function reads it itself from the API server"
say "  API server         ${api_addresses[*]:-unknown} on ${api_ports[*]:-?} (EndpointSlice default/kubernetes)"
say "  domain             $domain: $public_host resolves from here: $domain_resolves"
path=kubectl
$use_kn && path=kn
say "Plan ($profile profile, $path path)"
for name in "${functions[@]}"; do
  say "  image              ${REGISTRY:-<REGISTRY>}/$name:${TAG:-<commit>}, built and pushed with ${engine:-(no docker or podman found)}"
done
for line in "${secret_plan[@]}"; do say "  Secret             $line"; done
say "  API server egress  exactly ${egress[*]:-?} on ${api_ports[*]:-?}"
if $use_kn; then
  say "  apply              $profile_dir's platform objects (knative/before-kn), then scripts/kn-deploy.sh"
else
  say "  apply              $profile_dir"
fi
say "  wait for           ${services[*]}"

problems=()
[[ -n $serving ]] || problems+=("Knative Serving is not installed (docs/deploy.md, \"Install Knative\")")
[[ -n $eventing ]] || problems+=("Knative Eventing is not installed (docs/deploy.md, \"Install Knative\")")
[[ ${#api_addresses[@]} -gt 0 ]] || problems+=("the API server's addresses could not be read (EndpointSlice default/kubernetes)")
[[ $issuer == https://* ]] || problems+=("the API server serves no discovery document with an https issuer: set PAYMENT_AUTH_ISSUER and PAYMENT_AUTH_JWKS_URL, and the issuer in knative/antaeus/auth-config.yaml (docs/deploy.md)")
if [[ ${#problems[@]} -gt 0 ]]; then
  for problem in "${problems[@]}"; do say "Blocked: $problem"; done
  exit 1
fi
$check_only && exit 0

# --- build and push ------------------------------------------------------------------------------

: "${REGISTRY:?set REGISTRY to the registry your cluster pulls from, e.g. ghcr.io/your-org}"
[[ -n $engine ]] || fail "no container engine answers: install docker or podman, or set CONTAINER_ENGINE"
if [[ -z ${TAG:-} ]]; then
  TAG=$(git -C "$ROOT" rev-parse --short HEAD)
  # Knative resolves a tag once per revision: changed code needs a new tag to be deployed.
  [[ -z $(git -C "$ROOT" status --porcelain) ]] || TAG=$TAG-$(date +%Y%m%d%H%M%S)
fi
read -r -a build_flags <<<"${CONTAINER_BUILD_FLAGS:-}"
for name in "${functions[@]}"; do
  say "Building $REGISTRY/$name:$TAG"
  (cd "$ROOT" && "$engine" build "${build_flags[@]}" -f "Dockerfile.$name" -t "$REGISTRY/$name:$TAG" .)
  "$engine" push "$REGISTRY/$name:$TAG"
done

# --- the kustomization that is applied -----------------------------------------------------------

# Beside the profile (kustomize loads no base by absolute path), ignored by git: the profile, with
# this registry's images, the API server's own addresses as the only API egress, and without any
# database Secret (they are created below, never overwritten).
overlay=$ROOT/.deploy/${DEPLOY_RUN:-$profile}
mkdir -p "$overlay"
base=$profile_dir
$use_kn && base=knative/before-kn
{
  say "# Written by scripts/deploy.sh: $profile profile. Rewritten at every run; apply it again with"
  say "#   kubectl apply -k ${overlay#"$ROOT"/}"
  say "apiVersion: kustomize.config.k8s.io/v1beta1"
  say "kind: Kustomization"
  say "resources:"
  say "  - ../../$base"
  say "images:"
  for image in $(awk '{ print $5 }' <<<"$objects" | tr ',' '\n' | sort -u); do
    repository=${image%:*}
    [[ -f $ROOT/Dockerfile.${repository##*/} ]] || continue
    say "  - name: $repository"
    say "    newName: $REGISTRY/${repository##*/}"
    say "    newTag: \"$TAG\""
  done
  say "patches:"
  say "  - target: {group: networking.k8s.io, version: v1, kind: NetworkPolicy, name: function-egress-api-server}"
  say "    patch: |-"
  say "      - op: replace"
  say "        path: /spec/egress"
  say "        value:"
  say "          - to:"
  for block in "${egress[@]}"; do say "              - ipBlock: {cidr: \"$block\"}"; done
  say "            ports:"
  for port in "${api_ports[@]}"; do say "              - {port: $port, protocol: TCP}"; done
  while read -r _ kind namespace name _; do
    [[ $kind == Secret && $name == database ]] || continue
    say "  - patch: |-"
    say "      \$patch: delete"
    say "      apiVersion: v1"
    say "      kind: Secret"
    say "      metadata: {name: database, namespace: $namespace}"
  done <<<"$objects"
} >"$overlay/kustomization.yaml"

# --- apply ---------------------------------------------------------------------------------------

say "Applying the namespaces"
documents_of_kind Namespace <<<"$rendered" >"$overlay/namespaces.yaml"
kubectl apply -f "$overlay/namespaces.yaml"

# A Secret per PostgreSQL, created only where none exists: create refuses to replace one. The
# values go through files readable by this user only, never through the command line.
secrets=$(mktemp -d)
trap 'rm -rf "$secrets"' EXIT
for namespace in "${databases[@]}"; do
  if kubectl get secret database -n "$namespace" -o name >/dev/null 2>&1; then
    say "Keeping $namespace/database"
    continue
  fi
  say "Creating $namespace/database with a random password"
  password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
  mkdir -m 700 "$secrets/$namespace"
  printf '%s' "$namespace" >"$secrets/$namespace/username"
  printf '%s' "$namespace" >"$secrets/$namespace/database"
  printf '%s' "$password" >"$secrets/$namespace/password"
  printf 'postgres://%s:%s@postgres.%s.svc.cluster.local:5432/%s' \
    "$namespace" "$password" "$namespace" "$namespace" >"$secrets/$namespace/url"
  kubectl create secret generic database -n "$namespace" --from-file="$secrets/$namespace"
done

say "Applying ${overlay#"$ROOT"/}"
kubectl apply -k "$overlay"

if $use_kn; then
  existing=0
  for service in "${services[@]}"; do
    kubectl get ksvc "${service#*/}" -n "${service%/*}" -o name >/dev/null 2>&1 && existing=$((existing + 1))
  done
  if [[ $existing -eq 0 ]]; then
    open_routes=original
    [[ $profile == production ]] && open_routes=none
    REGISTRY=$REGISTRY TAG=$TAG ANTAEUS_AUTH_OPEN_ROUTES=$open_routes "$ROOT/scripts/kn-deploy.sh"
  else
    # Created before: an upgrade is a new image on each (kn service update makes the revision).
    while read -r api kind namespace name images; do
      [[ $api == serving.knative.dev/v1 && $kind == Service ]] || continue
      repository=${images%%,*}
      repository=${repository%:*}
      kn service update "$name" -n "$namespace" --image "$REGISTRY/${repository##*/}:$TAG"
    done <<<"$objects"
  fi
fi

# --- wait ----------------------------------------------------------------------------------------

# Ready for the spec just applied: Knative has seen this generation, then its revision is Ready.
for service in "${services[@]}"; do
  namespace=${service%/*} name=${service#*/}
  generation=$(kubectl get ksvc "$name" -n "$namespace" -o jsonpath='{.metadata.generation}')
  if ! kubectl wait ksvc "$name" -n "$namespace" --for=jsonpath='{.status.observedGeneration}'="$generation" --timeout="$timeout" ||
    ! kubectl wait ksvc "$name" -n "$namespace" --for=condition=Ready --timeout="$timeout"; then
    kubectl get ksvc -A >&2 || true
    fail "$service is not Ready. Its pods' /readyz names what is missing: kubectl logs -n $namespace -l serving.knative.dev/service=$name -c $name | grep 'not ready'"
  fi
done

# --- what to call --------------------------------------------------------------------------------

url=$(kubectl get ksvc antaeus -n antaeus -o jsonpath='{.status.url}')
host=${url#*://}
say ""
say "Deployed ($profile profile): ${services[*]} Ready. Antaeus: $url"
auth=""
if [[ $profile == production ]]; then
  say "TOKEN=\$(kubectl create token antaeus-operator -n antaeus --audience antaeus)"
  # shellcheck disable=SC2016 # printed for the reader's shell to expand
  auth='-H "Authorization: Bearer $TOKEN" '
fi
if [[ $(resolves "$url/healthz") == yes ]]; then
  base_url=$url
  host_header=""
else
  say "# $host does not resolve from here: call Kourier's gateway with the route's host name"
  if [[ -n $gateway_address ]]; then
    say "GATEWAY=$gateway_address"
  else
    say "kubectl port-forward -n ${gateway_namespace:-kourier-system} service/kourier 8080:80 &"
    say "GATEWAY=127.0.0.1:8080"
  fi
  # shellcheck disable=SC2016 # printed for the reader's shell to expand
  base_url='http://$GATEWAY'
  host_header="-H \"Host: $host\" "
fi
say "curl -X POST $auth$host_header$base_url/rest/v1/invoices/pay"
say "curl $auth$host_header$base_url/rest/v1/invoices | jq 'group_by(.status) | map({(.[0].status): length}) | add'"
say "kubectl get ksvc -A"
