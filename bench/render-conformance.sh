#!/usr/bin/env bash
# Benchmark (not a test): renders every kustomize conformance case twice in the same run —
# once with ONE `gitops-env render --out-dir` call over all cases, once with one
# `kubectl kustomize` process per case — and prints both wall times and their ratio.
#
# Usage: bench/render-conformance.sh [SHARED_DIR]
#   SHARED_DIR      the shared corpora folder (default: ../shared beside the checkout, or
#                   $GITOPS_ENV_SHARED)
#   GITOPS_ENV_BIN  the binary to measure (default: target/release/gitops-env when built,
#                   else target/debug/gitops-env)
set -euo pipefail

source "$(dirname "$0")/common.sh"
cases_root="$(cd "$shared/conformance/kustomize" && pwd)"

# Build directories relative to the conformance root.
dirs=()
for case_dir in "$cases_root"/*/; do
  [[ -d "$case_dir/input" ]] || continue
  name="$(basename "$case_dir")"
  build_dir="$(tr -d '\n' < "$case_dir/build-dir.txt")"
  dirs+=("$name/input/$build_dir")
done

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
now() { date +%s.%N; }

cd "$cases_root"
start="$(now)"
"$bin" render --out-dir "$out/ours" "${dirs[@]}" >/dev/null 2>&1 || true
ours="$(echo "$(now) - $start" | bc -l)"

start="$(now)"
for dir in "${dirs[@]}"; do
  kubectl kustomize "$dir" >/dev/null 2>&1 || true
done
theirs="$(echo "$(now) - $start" | bc -l)"

built="$(find "$out/ours" -name build.yaml | wc -l)"
failed="$(find "$out/ours" -name build-error.txt | wc -l)"
printf 'cases:                        %d (ours: %d built, %d failed)\n' "${#dirs[@]}" "$built" "$failed"
printf 'gitops-env render --out-dir:  %.3f s (one process, %s)\n' "$ours" "$(basename "$(dirname "$bin")")"
printf 'kubectl kustomize per case:   %.3f s\n' "$theirs"
printf 'ratio:                        %.1fx\n' "$(echo "$theirs / $ours" | bc -l)"
