# What build.sh and build-prometheus.sh share (sourced by both): Go binaries
# built from modules once, into a folder of the cache named by their versions.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/alcor-operator"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# cache_open DIR LOCK TAG: the binaries go to DIR (as $bin); one build at a
# time per LOCK (a second caller waits, then finds the binaries); TAG prefixes
# the log lines.
cache_open() {
  bin="$1" log_tag="$3"
  mkdir -p "$bin"
  exec 9>"$cache/$2"
  flock 9
  command -v go >/dev/null || { log "go is required (Go 1.24 or newer)"; exit 1; }
}

log() { printf '[%s] %s\n' "$log_tag" "$*" >&2; }

# build NAME COMMAND...: runs COMMAND OUT (which writes OUT = $tmp/NAME) unless NAME is cached.
build() {
  local name="$1"; shift
  if [[ -e "$bin/$name" ]]; then return 0; fi
  local start=$SECONDS tmp
  tmp="$(mktemp -d "$bin/.build-$name.XXXXXX")"
  log "building $name ..."
  if ! "$@" "$tmp/$name" >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2; rm -rf "$tmp"; log "building $name failed"; exit 1
  fi
  mv "$tmp/$name" "$bin/$name"; rm -rf "$tmp"
  log "built $name in $((SECONDS - start))s"
}
