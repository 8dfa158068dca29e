#!/bin/sh
# Apply benchmark: gitops-env's cluster stage vs `kubectl apply --server-side`, 500 objects,
# 5 ms latency per request, against fake-kube (see benches/apply.rs). A release build (the
# bench profile); pass `--profile dev` for a quicker, slower-running build.
set -eu
cd "$(dirname "$0")/.."
exec cargo bench -p gitops-env --bench apply "$@"
