#!/usr/bin/env bash
# Side-by-side import speed on one file (default 512 MiB of random bytes): `cairn add
# --only-hash`, Kubo's `ipfs add --only-hash` (same CID asserted) and `sha256sum`.
# Best of 3 wall-clock runs each. Usage: scripts/bench-add.sh [MiB]
set -euo pipefail
mib="${1:-512}"
cd "$(dirname "$0")/.."
cargo build --release --quiet
cairn="$PWD/target/release/cairn"
ipfs="$(command -v ipfs || echo "$(go env GOPATH)/bin/ipfs")"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
head -c "$((mib << 20))" /dev/urandom > "$work/input.bin"
export IPFS_PATH="$work/kubo" IPFS_TELEMETRY=off; "$ipfs" init --profile=test >/dev/null
best() { local best=999999; for _ in 1 2 3; do
  local t0=$(date +%s.%N); "$@" >/dev/null; local t1=$(date +%s.%N)
  best=$(echo "$t1 - $t0" | bc | awk -v b="$best" '{print ($1<b)?$1:b}'); done; echo "$best"; }
c_cid=$("$cairn" add --data "$work/cairn" -n -Q "$work/input.bin")
k_cid=$("$ipfs" add -n -Q "$work/input.bin")
kubo="Kubo $("$ipfs" version --number)"
[ "$c_cid" = "$k_cid" ] || { echo "CID mismatch: cairn $c_cid, kubo $k_cid"; exit 1; }
tc=$(best "$cairn" add --data "$work/cairn" -n -Q "$work/input.bin")
tk=$(best "$ipfs" add -n -Q "$work/input.bin")
ts=$(best sha256sum "$work/input.bin")
echo "| ${mib} MiB file | seconds | MB/s | vs sha256sum | vs Kubo |"
echo "|---|---|---|---|---|"
for row in "cairn add --only-hash:$tc" "ipfs add --only-hash ($kubo):$tk" "sha256sum:$ts"; do
  name=${row%%:*}; t=${row##*:}
  echo "| $name | $(printf "%.3f" "$t") | $(echo "$mib*1.048576/$t" | bc -l | xargs printf '%.0f') | $(echo "$t/$ts" | bc -l | xargs printf '%.2f')× | $(echo "$t/$tk" | bc -l | xargs printf '%.2f')× |"
done
echo "CID (both): $c_cid"
