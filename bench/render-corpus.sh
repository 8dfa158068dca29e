#!/usr/bin/env bash
# Benchmark (not a test): renders every kustomization of the real-world corpus twice in the
# same run — with ONE `gitops-env render --out-dir` call per repository, and with one
# `kubectl kustomize` process per directory — and prints both wall times, their ratio, and
# gitops-env's peak memory (the largest maximum resident set size of its calls).
#
# Usage: bench/render-corpus.sh [SHARED_DIR]
#   SHARED_DIR      the shared corpora folder (default: ../shared beside the checkout, or
#                   $GITOPS_ENV_SHARED)
#   GITOPS_ENV_BIN  the binary to measure (default: target/release/gitops-env when built,
#                   else target/debug/gitops-env)
set -euo pipefail

source "$(dirname "$0")/common.sh"
corpus="$(cd "$shared/corpus/realworld" && pwd)"
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is required for peak memory (apt-get install time)" >&2; exit 2; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
now() { date +%s.%N; }

repos=$(tail -n +2 "$corpus/INDEX.tsv" | cut -f1 | sort -u)
total_dirs=0
peak_kb=0
start=$(now)
for repo in $repos; do
  mapfile -t dirs < <(awk -F'\t' -v r="$repo" '$1 == r { print $2 }' "$corpus/INDEX.tsv")
  total_dirs=$((total_dirs + ${#dirs[@]}))
  (cd "$corpus/$repo/tree" &&
    /usr/bin/time -f '%M' -o "$out/$repo.rss" "$bin" render --out-dir "$out/ours/$repo" "${dirs[@]}" >/dev/null 2>&1) || true
  rss=$(tail -n 1 "$out/$repo.rss")
  (( rss > peak_kb )) && peak_kb=$rss
done
ours=$(echo "$(now) - $start" | bc)

start=$(now)
for repo in $repos; do
  mapfile -t dirs < <(awk -F'\t' -v r="$repo" '$1 == r { print $2 }' "$corpus/INDEX.tsv")
  for dir in "${dirs[@]}"; do
    (cd "$corpus/$repo/tree" && kubectl kustomize "$dir" >/dev/null 2>&1) || true
  done
done
theirs=$(echo "$(now) - $start" | bc)

printf 'directories:                      %d in %d repositories\n' "$total_dirs" "$(echo "$repos" | wc -l)"
printf 'gitops-env render --out-dir:      %.2f s (one call per repository)\n' "$ours"
printf 'kubectl kustomize per directory:  %.2f s\n' "$theirs"
printf 'ratio:                            %.1fx\n' "$(echo "$theirs / $ours" | bc -l)"
printf 'gitops-env peak memory:           %d MB\n' "$((peak_kb / 1024))"
