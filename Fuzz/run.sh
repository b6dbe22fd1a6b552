#!/usr/bin/env bash
# Builds every fuzz target with ASan + libFuzzer and runs each for SECONDS (default 30), bounded.
# New corpus entries go to a temporary directory; the committed seeds are only read.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-30}"
for t in FuzzSpanJSON FuzzWALRecord FuzzSegment FuzzOTLPProtobuf FuzzHTTPParser FuzzQuery; do
  swift build -c release --product "$t" --sanitize=address --sanitize=fuzzer -Xswiftc -parse-as-library --scratch-path .build-fuzz >/dev/null 2>&1 \
    || swift build -c release --product "$t" --sanitize=address --sanitize=fuzzer -Xswiftc -parse-as-library --scratch-path .build-fuzz
  corpus=$(mktemp -d)
  echo "fuzzing $t for ${secs}s"
  ASAN_OPTIONS=detect_leaks=0 ".build-fuzz/release/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 "$corpus" "seeds/$t" 2>&1 | grep -E '^Done|ERROR|SUMMARY|crash|deadly' || true
  status=${PIPESTATUS[0]}
  rm -rf "$corpus"
  if [ "$status" -ne 0 ]; then echo "fuzz target $t failed (exit $status)"; exit 1; fi
done
