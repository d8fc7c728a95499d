# Pinned versions of the local cluster's components (sourced by build-lib.sh for build.sh and build-prometheus.sh).
# The Kubernetes and etcd versions must match go/kubernetes/go.mod and go/etcd/go.mod.
KUBERNETES_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0
CRICTL_VERSION=v1.34.0
COREDNS_VERSION=v1.12.4
# prometheus and promtool (build-prometheus.sh): Prometheus v3.16.0 is Go module version v0.316.0.
PROMETHEUS_VERSION=v0.316.0
