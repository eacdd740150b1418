#!/usr/bin/env bash
# The long fuzz campaign (issue 18): every cargo-fuzz target (or those named) runs until it
# has made RUNS executions (default 10,000,000) or for SECONDS (default 3600), whichever comes
# first, starting from its committed corpus. The corpus it grew is then minimized
# (`cargo fuzz cmin`) and written back to fuzz/corpus/<target>, to be committed. A crash stops
# that target only: its input stays under fuzz/artifacts/<target>/ and the campaign goes on;
# the exit status says whether any target crashed.
#
#     scripts/fuzz-campaign.sh [--runs N] [--seconds S] [--sanitizer S] [--report FILE] [target ...]
#
# `--sanitizer none` runs without AddressSanitizer, about twice as fast. cairn's fuzzed code has
# no `unsafe`, so what the campaign looks for (panics, overflows, hangs, runaway memory) is
# found either way; the default stays cargo-fuzz's (address).
# The report (default fuzz/campaign.md) gets a row per target: executions, seconds,
# executions per second, coverage (libFuzzer's `cov`: edges reached; `ft`: features) and the
# corpus size before and after minimizing.
set -euo pipefail
runs=10000000
seconds=3600
report=""
sanitizer=address
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    --sanitizer) sanitizer="$2"; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
cd "$(dirname "$0")/../fuzz"
report="${report:-$PWD/campaign.md}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
cargo fuzz build -O -s "$sanitizer"

if [ ! -s "$report" ]; then
  {
    echo "| target | executions | seconds | exec/s | cov | ft | corpus before | corpus after | sanitizer | result |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
  } >"$report"
fi

crashed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  work=$(mktemp -d)
  cp -r "corpus/$target/." "$work/" 2>/dev/null || true
  before=$(find "corpus/$target" -type f | wc -l)
  echo "campaign: $target (${runs} runs or ${seconds} s)"
  started=$(date +%s)
  result=ok
  if ! cargo fuzz run -O -s "$sanitizer" "$target" "$work" -- -runs="$runs" -max_total_time="$seconds" \
      -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    result="CRASH (fuzz/artifacts/$target/)"
    crashed=1
    grep -E -A4 "panicked|ERROR: libFuzzer|SUMMARY" "$log" | head -n 40 || true
  fi
  elapsed=$(( $(date +%s) - started ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # The last status line holds the coverage reached: `#N ... cov: C ft: F corp: ...`.
  status=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ "$result" = ok ]; then
    # Minimized into a fresh directory, which then replaces the committed corpus.
    minimized=$(mktemp -d)
    cp -r "$work/." "$minimized/"
    cargo fuzz cmin -O -s "$sanitizer" "$target" "$minimized" >/dev/null 2>&1
    rm -rf "corpus/$target"
    mv "$minimized" "corpus/$target"
  fi
  after=$(find "corpus/$target" -type f | wc -l)
  echo "| $target | ${execs:-?} | $elapsed | ${rate:-?} | ${cov:-?} | ${ft:-?} | $before | $after | $sanitizer | $result |" \
    | tee -a "$report"
  rm -rf "$work"
done
exit "$crashed"
