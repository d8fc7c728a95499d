#!/usr/bin/env bash
# Builds the local cluster's binaries from Go modules and caches them by
# version under ${XDG_CACHE_HOME:-~/.cache}/alcor-operator/bin, so only the
# first run pays for the build. Prints one line per component with its time.
# Usage: build.sh            build what is missing, print the bin directory
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/build-lib.sh"
cache_open "$cache/bin/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-helm-$HELM_VERSION" build.lock cluster-build

kube_ldflags() {
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}" flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "-s -w$flags"
}
go_kube() { local out="$1" name; name="$(basename "$out")"
  (cd "$here/go/kubernetes" && go build -ldflags "$(kube_ldflags)" -o "$out" "k8s.io/kubernetes/cmd/$name"); }
go_etcd() { (cd "$here/go/etcd" && go build -ldflags "-s -w" -o "$1" go.etcd.io/etcd/server/v3); }
go_install() { local pkg="$1" out="$2" gobin; gobin="$(dirname "$out")"
  GOBIN="$gobin" go install -ldflags "-s -w" "$pkg"; }

total=$SECONDS
build etcd go_etcd
for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do build "$c" go_kube; done
build kwok go_install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
build helm go_install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
# Standalone kwok needs its Stage definitions (node and pod life cycles): take
# the "fast" stages kwokctl uses from the kwok module itself.
kwok_stages() { local dir; dir="$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  local s="$dir/kustomize/stage"
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml pod/fast/pod-ready.yaml \
           pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do echo "---"; cat "$s/$f"; done > "$1"; }
build kwok-stages.yaml kwok_stages
# kubelet and kube-proxy are only needed for real pods; build them on request.
if [[ "${BUILD_NODE:-0}" == 1 ]]; then
  for c in kubelet kube-proxy; do build "$c" go_kube; done
  build crictl go_install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  build coredns go_install "github.com/coredns/coredns@$COREDNS_VERSION"
fi
(( SECONDS - total > 1 )) && log "all binaries ready in $((SECONDS - total))s"
echo "$bin"
