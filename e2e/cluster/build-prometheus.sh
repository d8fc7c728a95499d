#!/usr/bin/env bash
# Builds prometheus and promtool from the Go module github.com/prometheus/prometheus
# and caches them by version under ${XDG_CACHE_HOME:-~/.cache}/alcor-operator/bin,
# as build.sh does for the cluster. Of the service discoveries only static,
# file, http and kubernetes are compiled in (the tests scrape loopback targets;
# promtool checks the documented Kubernetes scrape config).
# Usage: build-prometheus.sh    build what is missing, print the bin directory
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"

cache="${XDG_CACHE_HOME:-$HOME/.cache}/alcor-operator"
# Prometheus v3.X.Y is published as Go module version v0.3XX.Y.
tags=remove_all_sd,enable_kubernetes_sd
bin="$cache/bin/prometheus-$PROMETHEUS_VERSION-sd-kubernetes"
mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

exec 9>"$cache/prometheus-build.lock"
flock 9

log() { printf '[prometheus-build] %s\n' "$*" >&2; }
command -v go >/dev/null || { log "go is required to build prometheus and promtool"; exit 1; }

module=github.com/prometheus/prometheus
release="$PROMETHEUS_VERSION"
minor="${release#v0.}"; patch="${minor#*.}"; minor="${minor%%.*}"
ldflags="-s -w -X github.com/prometheus/common/version.Version=3.$((minor - 300)).$patch -X github.com/prometheus/common/version.Branch=module"
total=$SECONDS
for name in promtool prometheus; do
  [[ -e "$bin/$name" ]] && continue
  start=$SECONDS
  tmp="$(mktemp -d "$bin/.build-$name.XXXXXX")"
  log "building $name ($module $release) ..."
  if ! GOBIN="$tmp" go install -tags "$tags" -ldflags "$ldflags" "$module/cmd/$name@$release" >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2; rm -rf "$tmp"; log "building $name failed"; exit 1
  fi
  mv "$tmp/$name" "$bin/$name"; rm -rf "$tmp"
  log "built $name in $((SECONDS - start))s"
done
(( SECONDS - total > 1 )) && log "prometheus and promtool ready in $((SECONDS - total))s"
echo "$bin"
