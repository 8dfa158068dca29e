#!/usr/bin/env bash
# Benchmark (not a test): the cost of rendering a helm unit, ours against kustomize's own, in the
# same run with the same helm v3.17.2. Each unit of the helm test corpus below is rendered RUNS
# times by `kubectl kustomize --enable-helm --helm-command <helm>` and by this crate (the
# `build` example, release build, one process per render as kubectl is), alternating; prints the
# mean wall time of each and the ratio. Goal (issue 16): ours <= kustomize + 10 %.
#
# Usage: bench/helm.sh [RUNS]   (default 10)
# GITOPS_ENV_HELM picks helm (default: target/ci-cache/helm-v3.17.2/helm, as .ci/run installs it).
set -euo pipefail

runs=${1:-10}
here="$(cd "$(dirname "$0")/.." && pwd)"
helm="${GITOPS_ENV_HELM:-$here/target/ci-cache/helm-v3.17.2/helm}"
[[ -x "$helm" ]] || { echo "no helm at $helm (run .ci/run, or set GITOPS_ENV_HELM)" >&2; exit 2; }
command -v kubectl >/dev/null || { echo "kubectl is required for the comparison" >&2; exit 2; }
cargo build --quiet --release -p kustomize --example build --manifest-path "$here/Cargo.toml"
ours="$(cd "$here" && cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/build"

cases="$here/crates/kustomize/tests/helm-cases"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }

printf '%-16s %12s %12s %8s\n' unit "kustomize s" "ours s" ratio
for unit in local-defaults local-pipeline two-releases; do
  dir="$work/$unit"
  cp -r "$cases/cases/$unit/input" "$dir"
  while read -r chart target; do
    [[ -n "$chart" ]] && mkdir -p "$dir/$target" && cp -r "$cases/charts/$chart/." "$dir/$target"
  done < "$cases/cases/$unit/charts.txt"
  cmp -s <(kubectl kustomize --enable-helm --helm-command "$helm" "$dir" 2>/dev/null) \
         <("$ours" --enable-helm --helm-command "$helm" "$dir") \
    || { echo "$unit: outputs differ; not measuring" >&2; exit 1; }
  theirs_total=0; ours_total=0
  for _ in $(seq "$runs"); do
    start=$(now); kubectl kustomize --enable-helm --helm-command "$helm" "$dir" >/dev/null 2>&1
    theirs_total=$(echo "$theirs_total + $(now) - $start" | bc -l)
    start=$(now); "$ours" --enable-helm --helm-command "$helm" "$dir" >/dev/null
    ours_total=$(echo "$ours_total + $(now) - $start" | bc -l)
  done
  printf '%-16s %12.3f %12.3f %8.2f\n' "$unit" \
    "$(echo "$theirs_total / $runs" | bc -l)" "$(echo "$ours_total / $runs" | bc -l)" \
    "$(echo "$ours_total / $theirs_total" | bc -l)"
done
