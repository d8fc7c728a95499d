#!/usr/bin/env bash
# `npm run e2e:kind`: runs the e2e suite against a kind cluster, on a machine
# with a Docker engine (the local process cluster needs none). Builds the
# operator image when a Dockerfile exists and loads it into the cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
name="${KIND_CLUSTER_NAME:-alcor-e2e}"
command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "e2e:kind needs a running Docker engine" >&2; exit 1; }
kind="$(command -v kind || true)"
if [[ -z "$kind" ]]; then
  GOBIN="$PWD/.cache/bin" go install sigs.k8s.io/kind@v0.32.0
  kind="$PWD/.cache/bin/kind"
fi
kubeconfig="$(mktemp)"
trap '"$kind" delete cluster --name "$name" >/dev/null 2>&1 || true; rm -f "$kubeconfig"' EXIT
"$kind" create cluster --name "$name" --kubeconfig "$kubeconfig" --wait 120s
if [[ -f Dockerfile ]]; then
  docker build -t alcor-operator:0.3.0 .
  "$kind" load docker-image alcor-operator:0.3.0 --name "$name"
fi
E2E_KUBECONFIG="$kubeconfig" npx vitest run --project e2e
