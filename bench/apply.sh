#!/bin/sh
# Apply benchmark: gitops-env's cluster stage vs `kubectl apply --server-side`, 500 objects,
# 5 ms latency per request, against fake-kube (see benches/apply.rs). Dev profile on purpose.
set -eu
cd "$(dirname "$0")/.."
exec cargo bench -p gitops-env --bench apply --profile dev "$@"
