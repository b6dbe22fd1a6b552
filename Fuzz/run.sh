#!/usr/bin/env bash
# Builds every fuzz target with ASan + libFuzzer and runs each for SECONDS (default 30), bounded.
# Every committed seed runs first (the regression inputs among them), then the fuzzer explores.
# New corpus entries go to a temporary directory; the committed seeds are only read.
#
# Exit status: 0 when no target crashed; 1 when one did. A crash input is kept under
# Fuzz/crashes/ (or $FUZZ_ARTIFACTS) and printed as hex in the log, so it can become a seed
# (Fuzz/seeds/TARGET/crash-WHAT) once fixed.
#
#   Fuzz/run.sh 300                       # every target, 5 minutes each
#   Fuzz/run.sh 60 FuzzWALRecord          # one target
set -uo pipefail
cd "$(dirname "$0")"
export SWIFT_BACKTRACE=enable=no
secs="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(FuzzSpanJSON FuzzOTLPProtobuf FuzzOTLPJSON FuzzBodyDecoding FuzzWALRecord FuzzSegment FuzzLZ4Block FuzzHTTPParser FuzzHPACK FuzzHTTP2 FuzzQuery FuzzSDKAnswers)
fi
artifacts="${FUZZ_ARTIFACTS:-$PWD/crashes}"
mkdir -p "$artifacts"
failed=()
# SwiftPM passes its sanitizers to swiftc as "-sanitize=fuzzer -sanitize=address", in that order,
# and swiftc then compiles without coverage counters: libFuzzer runs blind (corpus stuck at one
# input). "-sanitize=fuzzer,address" in one flag instruments; --sanitize=fuzzer stays so that
# SwiftPM links libFuzzer's main instead of the target's.
# One product at a time: a plain `swift build` here would also link the main package's
# executables, whose main() clashes with libFuzzer's. The modules they share build once.
for t in "${targets[@]}"; do
  build=(swift build -c release --product "$t" --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --scratch-path .build-fuzz)
  if ! "${build[@]}" >/dev/null 2>&1; then
    "${build[@]}" 2>&1 | grep -v 'ld.gold: warning' | tail -n 40
    echo "fuzz target $t does not build"
    exit 1
  fi
done
for t in "${targets[@]}"; do
  corpus=$(mktemp -d)
  log=$(mktemp)
  rm -f "$artifacts/$t-"*
  echo "fuzzing $t for ${secs}s"
  # Not in a pipeline: the fuzzer's own exit status decides (a crash exits non-zero).
  ASAN_OPTIONS=detect_leaks=0 ".build-fuzz/release/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/$t-" -print_final_stats=1 "$corpus" "seeds/$t" >"$log" 2>&1
  status=$?
  # A run without coverage counters finds nothing: that is a failure of the harness, not a pass.
  if ! grep -qE '^INFO: Loaded [0-9]+ modules +\([1-9][0-9]* inline 8-bit counters' "$log"; then
    echo "fuzz target $t runs without coverage instrumentation"
    status=1
  fi
  grep -E '^INFO: Loaded [0-9]+ modules|^#[0-9]+[[:space:]]+(INITED|DONE)|^Done|^stat::number_of_executed_units|^stat::peak_rss|ERROR|SUMMARY|deadly|Test unit written' "$log"
  if [ "$status" -ne 0 ]; then
    echo "fuzz target $t FAILED (exit $status); the fuzzer's last lines:"
    tail -n 40 "$log"
    for f in "$artifacts/$t-"*; do
      [ -f "$f" ] || continue
      echo "crash input $f ($(wc -c <"$f") bytes), hex:"
      od -An -tx1 -v "$f" | head -n 64
    done
    failed+=("$t")
  fi
  rm -rf "$corpus" "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]}"
  exit 1
fi
echo "fuzzing passed: ${targets[*]}"
