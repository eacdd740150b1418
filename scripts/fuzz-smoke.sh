#!/usr/bin/env bash
# Runs every cargo-fuzz target for a short while (default 20 s each) on its committed corpus
# (hand-made seeds and what the long campaign found, `fuzz/campaign.md`); any crash fails.
# Long runs: `scripts/fuzz-campaign.sh`, or `RUSTC_BOOTSTRAP=1 cargo fuzz run <target>` in fuzz/.
set -euo pipefail
seconds="${1:-20}"
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
targets=$(cargo fuzz list)
cargo fuzz build -O
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $targets; do
  # Work on a copy, so the committed corpus stays as it is.
  work=$(mktemp -d)
  cp -r "corpus/$target/." "$work/" 2>/dev/null || true
  echo "fuzz: $target for ${seconds}s"
  if ! cargo fuzz run -O "$target" "$work" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 >"$log" 2>&1; then
    grep -E -A4 "panicked|ERROR: libFuzzer|SUMMARY" "$log" | head -n 40
    echo "fuzz target $target failed (crash input under fuzz/artifacts/$target/)"
    exit 1
  fi
  grep -E '^Done [0-9]+ runs' "$log" || tail -n 2 "$log"
  rm -rf "$work"
done
echo "fuzz smoke: $(echo $targets | wc -w) targets, no crash"
