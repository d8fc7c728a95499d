#!/usr/bin/env bash
# Builds prometheus and promtool from the Go module github.com/prometheus/prometheus
# and caches them by version under ${XDG_CACHE_HOME:-~/.cache}/alcor-operator/bin,
# as build.sh does for the cluster. Of the service discoveries only static,
# file, http and kubernetes are compiled in (the tests scrape loopback targets;
# promtool checks the documented Kubernetes scrape config).
# Usage: build-prometheus.sh    build what is missing, print the bin directory
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/build-lib.sh"
# Prometheus v3.X.Y is published as Go module version v0.3XX.Y.
cache_open "$cache/bin/prometheus-$PROMETHEUS_VERSION-sd-kubernetes" prometheus-build.lock prometheus-build

module=github.com/prometheus/prometheus
release="$PROMETHEUS_VERSION"
minor="${release#v0.}"; patch="${minor#*.}"; minor="${minor%%.*}"
ldflags="-s -w -X github.com/prometheus/common/version.Version=3.$((minor - 300)).$patch -X github.com/prometheus/common/version.Branch=module"
go_prometheus() { local out="$1"; GOBIN="$(dirname "$out")" go install -tags remove_all_sd,enable_kubernetes_sd -ldflags "$ldflags" "$module/cmd/$(basename "$out")@$release"; }

total=$SECONDS
for name in promtool prometheus; do build "$name" go_prometheus; done
(( SECONDS - total > 1 )) && log "prometheus and promtool ready in $((SECONDS - total))s"
echo "$bin"
