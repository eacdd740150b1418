#!/usr/bin/env bash
# Installs the external peers cairn's tests compare against, from the Go module proxy, into
# $(go env GOPATH)/bin. Already-installed peers of the right version are kept (CI caches).
#   Kubo v0.42.0          (ipfs)              — built in a scratch module, as its go.mod
#                                                has `exclude` lines `go install` refuses
#   ipfs-cluster-ctl v1.1.6                   — built in a scratch module, as the proxy
#                                                refuses the version listing `go install` asks
set -euo pipefail
GOBIN="$(go env GOPATH)/bin"
mkdir -p "$GOBIN"
scratch="${CAIRN_PEER_BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn-peers}"
mkdir -p "$scratch"

if [ "$("$GOBIN/ipfs" version 2>/dev/null)" != "ipfs version 0.42.0" ]; then
  echo "installing Kubo v0.42.0 …"
  mkdir -p "$scratch/kubo" && cd "$scratch/kubo"
  [ -f go.mod ] || go mod init scratch >/dev/null
  go mod edit -exclude=github.com/libp2p/go-libp2p@v6.0.23+incompatible \
              -exclude=github.com/ipfs/go-ipfs-cmds@v2.0.1+incompatible
  go get github.com/ipfs/kubo/cmd/ipfs@v0.42.0
  go build -o "$GOBIN/ipfs" github.com/ipfs/kubo/cmd/ipfs
fi

if ! "$GOBIN/ipfs-cluster-ctl" --version 2>/dev/null | grep -q '1\.1\.6'; then
  echo "installing ipfs-cluster-ctl v1.1.6 …"
  mkdir -p "$scratch/ctl" && cd "$scratch/ctl"
  [ -f go.mod ] || go mod init scratch >/dev/null
  go mod edit -require=github.com/ipfs-cluster/ipfs-cluster@v1.1.6
  GOFLAGS=-mod=mod go build -o "$GOBIN/ipfs-cluster-ctl" \
    github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-ctl
fi

"$GOBIN/ipfs" version
"$GOBIN/ipfs-cluster-ctl" --version
