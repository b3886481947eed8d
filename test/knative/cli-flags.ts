import type { KnCommand } from "./kn-flags.js";

/**
 * The flags scripts/deploy.sh (and kubectl's part of scripts/kn-deploy.sh) pass to kubectl, docker
 * and podman, each as its source defines it ("bool" for a switch). A call with a flag not listed
 * here fails deploy.test.ts; where kubectl is installed, the same test also finds every kubectl
 * flag below in that binary's own `--help` (kubectl options for the global ones).
 *
 * kubectl (kubernetes/kubectl, the staging copy of kubernetes/kubernetes):
 * - global: --namespace/-n, cli-runtime pkg/genericclioptions/config_flags.go (ConfigFlags);
 * - get: pkg/cmd/get/get.go @5be1f71c (NewCmdGet: --raw, --selector/-l; -o/--output from
 *   PrintFlags, whose jsonpath, go-template and name printers the script uses);
 * - wait: pkg/cmd/wait/wait.go @0c921b2f (--for: condition=… or jsonpath='{…}'=value; --timeout);
 * - create secret generic: pkg/cmd/create/create_secret.go @f5be7f60 (--from-file: a directory
 *   gives one key per file);
 * - apply (-f, -k), patch (--type, -p), rollout status (--timeout): as `kubectl <command> --help`
 *   of kubectl 1.32 prints them (the test checks it against the installed binary).
 * docker: docker/cli docs/reference/commandline/image_build.md @3bb31af5 (-f/--file, -t/--tag),
 * `docker push NAME`, `docker version`. podman: containers/podman docs/source/markdown/
 * podman-build.1.md.in @3718ac8e (the same -f and -t), podman push, podman version.
 * kn service update: knative/client docs/cmd/kn_service_update.md @a69daf4f (--image, -n).
 */
const NAMESPACE = { flags: { namespace: "string" }, shorthands: { n: "namespace" } };

const command = (
  source: string,
  flags: Record<string, string>,
  shorthands: Record<string, string> = {},
) =>
  ({
    source,
    flags: { ...NAMESPACE.flags, ...flags, help: "bool" },
    shorthands: { ...NAMESPACE.shorthands, ...shorthands },
  }) satisfies KnCommand;

export const KUBECTL: Record<string, KnCommand> = {
  get: command(
    "kubectl pkg/cmd/get/get.go @5be1f71c",
    { raw: "string", selector: "string", output: "string" },
    { l: "selector", o: "output" },
  ),
  wait: command("kubectl pkg/cmd/wait/wait.go @0c921b2f", { for: "string", timeout: "duration" }),
  "create secret generic": command("kubectl pkg/cmd/create/create_secret.go @f5be7f60", {
    "from-file": "strings",
  }),
  apply: command(
    "kubectl apply --help (1.32)",
    { filename: "strings", kustomize: "string" },
    { f: "filename", k: "kustomize" },
  ),
  patch: command(
    "kubectl patch --help (1.32)",
    { type: "string", patch: "string" },
    { p: "patch" },
  ),
  "rollout status": command("kubectl rollout status --help (1.32)", { timeout: "duration" }),
  kustomize: command("kubectl kustomize --help (1.32)", {}),
};

const ENGINE_BUILD = (source: string) =>
  ({
    source,
    flags: { file: "string", tag: "strings" },
    shorthands: { f: "file", t: "tag" },
  }) satisfies KnCommand;

export const ENGINES: Record<string, Record<string, KnCommand>> = {
  docker: {
    build: ENGINE_BUILD("docker/cli docs/reference/commandline/image_build.md @3bb31af5"),
    push: { source: "docker push", flags: {}, shorthands: {} },
    version: { source: "docker version", flags: {}, shorthands: {} },
  },
  podman: {
    build: ENGINE_BUILD("containers/podman docs/source/markdown/podman-build.1.md.in @3718ac8e"),
    push: { source: "podman push", flags: {}, shorthands: {} },
    version: { source: "podman version", flags: {}, shorthands: {} },
  },
};

export const KN_SERVICE_UPDATE: KnCommand = {
  source: "knative/client docs/cmd/kn_service_update.md @a69daf4f",
  flags: { image: "string", namespace: "string" },
  shorthands: { n: "namespace" },
};

/** The kubectl command a call runs: its verb, or verb and sub-verbs ("create secret generic"). */
export function kubectlCommand(args: string[]): { name: string; rest: string[] } {
  for (const name of Object.keys(KUBECTL).sort(
    (a, b) => b.split(" ").length - a.split(" ").length,
  )) {
    const words = name.split(" ");
    if (words.every((word, i) => args[i] === word)) return { name, rest: args.slice(words.length) };
  }
  throw new Error(`deploy test: no flag list for kubectl ${args.join(" ")}`);
}
