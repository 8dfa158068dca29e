#!/bin/sh
# Records what the real tool makes of each case: for every CASE/input.yaml, builds a
# kustomization whose only resource is that file with `kubectl kustomize` (kustomize v5.5.0)
# and stores stdout as CASE/expected.yaml, or kustomize's error as CASE/expected-error.txt.
# Run it from anywhere after adding or changing a case; the tests never run kubectl.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for case in "$here"/*/; do
  name=$(basename "$case")
  rm -f "$case/expected.yaml" "$case/expected-error.txt"
  cp "$case/input.yaml" "$work/input.yaml"
  printf 'resources:\n- input.yaml\n' > "$work/kustomization.yaml"
  if kubectl kustomize "$work" > "$work/out" 2> "$work/err"; then
    cp "$work/out" "$case/expected.yaml"
  else
    # Keep kustomize's message only (kubectl wraps it in a log line).
    sed -e 's/^.*"command failed" err=//' "$work/err" > "$case/expected-error.txt"
  fi
  echo "$name: $(ls "$case" | grep expected)"
done
