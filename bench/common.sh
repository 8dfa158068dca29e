# Sourced by the render benchmarks: where the shared corpora and the binary under test are, and
# the reference tool they compare with. Sets `repo_root`, `shared` and `bin`.
#   $1 / GITOPS_ENV_SHARED  the shared corpora folder (default: ../shared beside the checkout)
#   GITOPS_ENV_BIN          the binary to measure (default: target/release/gitops-env when built,
#                           else target/debug/gitops-env)
repo_root="$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)"
shared="${1:-${GITOPS_ENV_SHARED:-$repo_root/../shared}}"
bin="${GITOPS_ENV_BIN:-}"
if [[ -z "$bin" ]]; then
  if [[ -x "$repo_root/target/release/gitops-env" ]]; then bin="$repo_root/target/release/gitops-env"
  else bin="$repo_root/target/debug/gitops-env"; fi
fi
[[ -x "$bin" ]] || { echo "no gitops-env binary at $bin (cargo build first)" >&2; exit 2; }
command -v kubectl >/dev/null || { echo "kubectl is required for the comparison" >&2; exit 2; }
