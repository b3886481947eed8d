/**
 * The flags kn documents for the two commands scripts/kn-deploy.sh runs, copied from knative/client
 * docs/cmd (the generated reference, one file per command): "bool" for a switch, otherwise the
 * value type kn prints. A flag the script uses must be listed here, and the list must be the
 * documentation's, so re-read it from the source below when moving to a newer kn.
 *
 * - kn service create: docs/cmd/kn_service_create.md at knative/client commit 009b2e75 (the kn 1.11
 *   cycle: --security-context exists, added by knative/client#1821). Later releases keep these
 *   flags (pkg/flags/podspec.go at commit d993c963 defines the same pod spec flags).
 * - kn source ping create: docs/cmd/kn_source_ping_create.md at knative/client commit 13c92a0e
 *   (kn 0.15 and later; newer releases add --encoding, which the script does not use).
 * - Inherited flags: the "Options inherited from parent commands" of the same files.
 */
export interface KnCommand {
  source: string;
  flags: Record<string, string>;
  /** One-letter shorthands, as the docs print them ("-n, --namespace"). */
  shorthands: Record<string, string>;
}

export const KN_SERVICE_CREATE: KnCommand = {
  source: "knative/client docs/cmd/kn_service_create.md @ 009b2e75",
  flags: {
    annotation: "stringArray",
    "annotation-revision": "stringArray",
    "annotation-service": "stringArray",
    arg: "stringArray",
    "cluster-local": "bool",
    cmd: "stringArray",
    "concurrency-limit": "int",
    containers: "string",
    env: "stringArray",
    "env-file": "string",
    "env-from": "stringArray",
    "env-value-from": "stringArray",
    filename: "string",
    force: "bool",
    help: "bool",
    image: "string",
    label: "stringArray",
    "label-revision": "stringArray",
    "label-service": "stringArray",
    limit: "strings",
    "lock-to-digest": "bool",
    mount: "stringArray",
    namespace: "string",
    "no-cluster-local": "bool",
    "no-lock-to-digest": "bool",
    "no-wait": "bool",
    port: "string",
    "probe-liveness": "string",
    "probe-liveness-opts": "string",
    "probe-readiness": "string",
    "probe-readiness-opts": "string",
    "pull-policy": "string",
    "pull-secret": "string",
    request: "strings",
    "revision-name": "string",
    scale: "string",
    "scale-activation": "int",
    "scale-init": "int",
    "scale-max": "int",
    "scale-metric": "string",
    "scale-min": "int",
    "scale-target": "int",
    "scale-utilization": "int",
    "scale-window": "string",
    "security-context": "string",
    "service-account": "string",
    tag: "strings",
    target: "string",
    timeout: "int",
    user: "int",
    volume: "stringArray",
    wait: "bool",
    "wait-timeout": "int",
    "wait-window": "int",
    // inherited
    as: "string",
    "as-group": "stringArray",
    "as-uid": "string",
    cluster: "string",
    config: "string",
    context: "string",
    kubeconfig: "string",
    "log-http": "bool",
  },
  shorthands: {
    a: "annotation",
    e: "env",
    f: "filename",
    h: "help",
    l: "label",
    n: "namespace",
    p: "port",
  },
};

export const KN_SOURCE_PING_CREATE: KnCommand = {
  source: "knative/client docs/cmd/kn_source_ping_create.md @ 13c92a0e",
  flags: {
    "ce-override": "stringArray",
    data: "string",
    help: "bool",
    namespace: "string",
    schedule: "string",
    sink: "string",
    // inherited
    config: "string",
    kubeconfig: "string",
    "log-http": "bool",
  },
  shorthands: { d: "data", h: "help", n: "namespace", s: "sink" },
};
