#!/usr/bin/env bash
# kubectl, kn, docker, podman and curl on PATH in scripts/deploy.sh's tests (linked by those
# names): passes its call to the test's model of the cluster (cluster.ts, served by serve.ts on
# STUB_PORT) and answers as it says: stderr, stdout, exit code.
exec 3<>"/dev/tcp/127.0.0.1/$STUB_PORT" || exit 98
names=("${!STUB_@}")
{
  printf '%s\0' "${0##*/}" "$PWD" "$#" "$@" "${#names[@]}"
  for name in "${names[@]}"; do printf '%s=%s\0' "$name" "${!name}"; done
} >&3
read -r code errors bytes <&3 || exit 98
for ((i = 0; i < errors; i++)); do
  IFS= read -r line <&3
  printf '%s\n' "$line" >&2
done
# Read by bash itself, a byte a read: cheaper than starting cat, for the short answers most are.
if ((bytes > 1024)); then
  cat <&3
elif ((bytes > 0)); then
  while IFS= read -r line <&3; do printf '%s\n' "$line"; done
  printf '%s' "$line"
fi
exit "$code"
