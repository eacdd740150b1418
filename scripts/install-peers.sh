#!/usr/bin/env bash
# Installs the external peers cairn's tests and scripts compare against into
# $(go env GOPATH)/bin. A peer already installed at the right version is kept (a cache between
# CI runs on one machine); Go's module and build caches stay in their default places.
#
#   bash scripts/install-peers.sh [kubo] [cluster] [gateway-conformance] [rainbow] [promtool]
#                                                                              (default: all)
#
#   Kubo v0.43.1 (ipfs)       built in a scratch module: its go-libp2p fork is not served by the
#                             module proxy, so quic-go and webtransport-go are pinned by `replace`
#   ipfs-cluster-ctl and      built in a scratch module (the proxy refuses the version listing
#   ipfs-cluster-service      `go install …@v1.1.6` asks for)
#     v1.1.6
#   gateway-conformance       `go install …@v0.13.2`; where the module proxy refuses it, built from
#     v0.13.2                 a source tree named by GATEWAY_CONFORMANCE_SRC, copied first into the
#                             peer cache (the suite runs `go test` in that copy)
#   Rainbow v1.24.0           built from a source tree named by RAINBOW_SRC; skipped, with a
#                             message, when neither installed nor a source tree given
#   promtool                  Debian's `prometheus` package (apt-get, as root, when promtool is
#                             absent): the metrics test runs `promtool check metrics`; the
#                             package's server is stopped, never left running
#
# Scratch modules and the suite's source copy live in $CAIRN_PEER_BUILD_DIR, by default
# ${XDG_CACHE_HOME:-~/.cache}/cairn-peers. Any failure to install a requested peer (Rainbow
# without a source tree aside) exits non-zero.
set -euo pipefail
export IPFS_TELEMETRY=off
GOBIN="$(go env GOPATH)/bin"
export GOBIN
mkdir -p "$GOBIN"
scratch="${CAIRN_PEER_BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn-peers}"
mkdir -p "$scratch"

KUBO=v0.43.1
CLUSTER=v1.1.6
CONFORMANCE=v0.13.2
RAINBOW=v1.24.0
CONFORMANCE_MODULE=github.com/ipfs/gateway-conformance

requested=("$@")
for peer in "${requested[@]}"; do
  case "$peer" in kubo | cluster | gateway-conformance | rainbow | promtool) ;;
    *) echo "install-peers: unknown peer '$peer'" >&2; exit 2 ;;
  esac
done
want() { [ "${#requested[@]}" -eq 0 ] || [[ " ${requested[*]} " == *" $1 "* ]]; }

# Prints how long the step named $1 took since $2 (seconds since the epoch).
took() { echo "$1: done in $(($(date +%s) - $2)) s"; }

# A copy of a (possibly read-only) source tree that the go command may write beside.
writable_copy() {
  rm -rf "$2"
  mkdir -p "$(dirname "$2")"
  cp -R "$1" "$2"
  chmod -R u+w "$2"
}

if want kubo; then
  if [ "$("$GOBIN/ipfs" version 2>/dev/null)" != "ipfs version ${KUBO#v}" ]; then
    echo "installing Kubo $KUBO …"
    start=$(date +%s)
    mkdir -p "$scratch/kubo-$KUBO" && cd "$scratch/kubo-$KUBO"
    [ -f go.mod ] || go mod init scratch >/dev/null 2>&1
    # A `require` with -mod=mod resolves without the version listings `go get` asked for, so
    # the `exclude` lines 0.42.0 needed (go-libp2p v6.0.23+incompatible, go-ipfs-cmds
    # v2.0.1+incompatible) are not needed any more.
    go mod edit -require=github.com/ipfs/kubo@$KUBO \
      -replace=github.com/quic-go/quic-go=github.com/quic-go/quic-go@v0.60.0 \
      -replace=github.com/quic-go/webtransport-go=github.com/quic-go/webtransport-go@v0.11.1
    GOFLAGS=-mod=mod go build -o "$GOBIN/ipfs" github.com/ipfs/kubo/cmd/ipfs
    took "Kubo $KUBO" "$start"
  fi
  got="$("$GOBIN/ipfs" version)"
  [ "$got" = "ipfs version ${KUBO#v}" ] || { echo "install-peers: expected Kubo $KUBO, got '$got'" >&2; exit 1; }
  echo "$got"
fi

if want cluster; then
  if ! "$GOBIN/ipfs-cluster-ctl" --version 2>/dev/null | grep -q " ${CLUSTER#v}\$" ||
     ! "$GOBIN/ipfs-cluster-service" --version 2>/dev/null | grep -q " ${CLUSTER#v}\$"; then
    echo "installing ipfs-cluster-ctl and ipfs-cluster-service $CLUSTER …"
    start=$(date +%s)
    mkdir -p "$scratch/cluster-$CLUSTER" && cd "$scratch/cluster-$CLUSTER"
    [ -f go.mod ] || go mod init scratch >/dev/null 2>&1
    go mod edit -require=github.com/ipfs-cluster/ipfs-cluster@$CLUSTER
    for cmd in ipfs-cluster-ctl ipfs-cluster-service; do
      GOFLAGS=-mod=mod go build -o "$GOBIN/$cmd" github.com/ipfs-cluster/ipfs-cluster/cmd/$cmd
    done
    took "IPFS Cluster $CLUSTER" "$start"
  fi
  for cmd in ipfs-cluster-ctl ipfs-cluster-service; do
    got="$("$GOBIN/$cmd" --version)"
    [[ "$got" == *" ${CLUSTER#v}" ]] || { echo "install-peers: expected $cmd $CLUSTER, got '$got'" >&2; exit 1; }
    echo "$got"
  done
fi

if want gateway-conformance; then
  # The suite runs `go test` in its source tree: the module cache's copy after `go install`, or
  # the copy made here. Its version is stamped in by -ldflags, as its own releases do.
  ldflags="-X $CONFORMANCE_MODULE/tooling.Version=$CONFORMANCE"
  home_copy="$scratch/gateway-conformance-$CONFORMANCE"
  home_modcache="$(go env GOMODCACHE)/$CONFORMANCE_MODULE@$CONFORMANCE"
  if ! "$GOBIN/gateway-conformance" --version 2>/dev/null | grep -q " $CONFORMANCE\$" ||
     { [ ! -d "$home_copy/tests" ] && [ ! -d "$home_modcache/tests" ]; }; then
    echo "installing gateway-conformance $CONFORMANCE …"
    start=$(date +%s)
    if ! go install -ldflags="$ldflags" "$CONFORMANCE_MODULE/cmd/gateway-conformance@$CONFORMANCE" 2>"$scratch/go-install.err"; then
      echo "  go install refused: $(tail -n 1 "$scratch/go-install.err")"
      if [ -z "${GATEWAY_CONFORMANCE_SRC:-}" ] || [ ! -f "${GATEWAY_CONFORMANCE_SRC}/go.mod" ]; then
        echo "install-peers: gateway-conformance $CONFORMANCE cannot be installed: the module proxy" \
             "refuses it and GATEWAY_CONFORMANCE_SRC does not name its source tree" >&2
        exit 1
      fi
      echo "  building it from GATEWAY_CONFORMANCE_SRC=$GATEWAY_CONFORMANCE_SRC (copied to $home_copy)"
      writable_copy "$GATEWAY_CONFORMANCE_SRC" "$home_copy"
      (cd "$home_copy" && go build -ldflags="$ldflags" -o "$GOBIN/gateway-conformance" ./cmd/gateway-conformance)
      # Compile the tests once now, so the first conformance run does not pay for it.
      (cd "$home_copy" && go test -count=1 -run '^$' ./tests >/dev/null)
    fi
    took "gateway-conformance $CONFORMANCE" "$start"
  fi
  "$GOBIN/gateway-conformance" --version
fi

if want rainbow; then
  if ! "$GOBIN/rainbow" --version 2>/dev/null | grep -q " $RAINBOW "; then
    if [ -z "${RAINBOW_SRC:-}" ] || [ ! -f "${RAINBOW_SRC}/go.mod" ]; then
      echo "SKIP: Rainbow $RAINBOW is not installed and RAINBOW_SRC does not name its source" \
           "tree (it is only needed for benchmarks)"
    else
      echo "installing Rainbow $RAINBOW from RAINBOW_SRC=$RAINBOW_SRC …"
      start=$(date +%s)
      work="$(mktemp -d)"
      writable_copy "$RAINBOW_SRC" "$work/rainbow"
      (cd "$work/rainbow" && go build -o "$GOBIN/rainbow" .)
      rm -rf "$work"
      took "Rainbow $RAINBOW" "$start"
    fi
  fi
  if [ -x "$GOBIN/rainbow" ]; then
    got="$("$GOBIN/rainbow" --version)"
    [[ "$got" == *" $RAINBOW "* ]] || { echo "install-peers: expected Rainbow $RAINBOW, got '$got'" >&2; exit 1; }
    echo "$got"
  fi
fi

if want promtool; then
  if ! command -v promtool >/dev/null; then
    echo "installing promtool (Debian package prometheus) …"
    start=$(date +%s)
    apt-get update -qq
    apt-get install -y --no-install-recommends prometheus
    # Only promtool is wanted: the server the package may have started must not run.
    if command -v invoke-rc.d >/dev/null; then invoke-rc.d prometheus stop >/dev/null 2>&1 || true; fi
    took "promtool" "$start"
  fi
  promtool --version | head -n 1
fi
