#!/usr/bin/env bash
# `cairn add -r` vs Kubo's `ipfs add -r` on a tree of many small files (default 100,000
# files of ~4 KB in 100 × 10 nested directories, deterministic content), both with
# `--cid-version=1 -Q`, each into a fresh store (cairn) or a fresh offline repo (Kubo
# `init --profile=test`) per run, alternating, `sync` before each run so one run's
# writeback is not billed to the next. Asserts both print the same root CID; prints each
# run's wall seconds and the medians, plus `--only-hash` for both (the hashing floor).
# Usage: scripts/bench-add-tree.sh [FILES] [RUNS]   (CAIRN=path/to/cairn to time another build)
set -euo pipefail
files="${1:-100000}"
runs="${2:-3}"
cd "$(dirname "$0")/.."
if [ -z "${CAIRN:-}" ]; then
  cargo build --release --quiet
  CAIRN="${CARGO_TARGET_DIR:-$PWD/target}/release/cairn"
fi
ipfs="$(command -v ipfs || echo "$(go env GOPATH)/bin/ipfs")"
export IPFS_TELEMETRY=off
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-add-tree.XXXXXX"); trap 'rm -rf "$work"' EXIT
python3 - "$work/tree" "$files" <<'PY'
import hashlib, os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:03}", f"s{(i // 100) % 10}")
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    seed = hashlib.sha256(i.to_bytes(8, "little")).digest()
    size = 3584 + (i * 7919) % 1024  # 3.5–4.5 KB, ~4 KB on average
    with open(os.path.join(d, f"f{i:06}.txt"), "wb") as f:
        f.write((seed * (size // 32 + 1))[:size])
PY
echo "tree: $files files, $(du -sm "$work/tree" | cut -f1) MB on disk; $("$ipfs" version)"
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >"$work/out"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c_times=(); k_times=()
for run in $(seq "$runs"); do
  # Moved aside, not removed: deleting 100,000 files is slow and its writeback would be billed
  # to the next run (the trap removes them at the end).
  mkdir -p "$work/old/$run"
  for d in cairn kubo; do if [ -d "$work/$d" ]; then mv "$work/$d" "$work/old/$run/$d"; fi; done
  IPFS_PATH="$work/kubo" "$ipfs" init --profile=test >/dev/null
  sync
  c_times+=("$(secs "$CAIRN" add --data "$work/cairn" -r --cid-version=1 -Q "$work/tree")")
  c_cid=$(cat "$work/out")
  sync
  k_times+=("$(IPFS_PATH="$work/kubo" secs "$ipfs" add -r --cid-version=1 -Q "$work/tree")")
  k_cid=$(cat "$work/out")
  [ "$c_cid" = "$k_cid" ] || { echo "CID mismatch: cairn $c_cid, kubo $k_cid"; exit 1; }
  echo "run $run: cairn ${c_times[-1]} s, kubo ${k_times[-1]} s"
done
cn=$(secs "$CAIRN" add --data "$work/cairn" -n -r --cid-version=1 -Q "$work/tree")
kn=$(IPFS_PATH="$work/kubo" secs "$ipfs" add -n -r --cid-version=1 -Q "$work/tree")
cm=$(printf '%s\n' "${c_times[@]}" | median); km=$(printf '%s\n' "${k_times[@]}" | median)
echo "| $files files, ~4 KB each | median of $runs (s) | vs Kubo |"
echo "|---|---|---|"
printf '| cairn add -r --cid-version=1 | %.2f | %.2f× |\n' "$cm" "$(echo "$cm/$km" | bc -l)"
printf '| ipfs add -r --cid-version=1 (Kubo) | %.2f | 1.00× |\n' "$km"
printf '| cairn add -n (only hash) | %.2f | %.2f× |\n' "$cn" "$(echo "$cn/$kn" | bc -l)"
printf '| ipfs add -n (Kubo, only hash) | %.2f | 1.00× |\n' "$kn"
echo "root CID (both): $c_cid"
