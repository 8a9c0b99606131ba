#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD for SECONDS each, starting from a
# copy of its seed corpus (the checked-in corpus is not modified).
set -euo pipefail
build=$1 secs=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in "$build"/fuzz_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t"); corpus=${name#fuzz_}
  mkdir -p "$work/$corpus"
  cp "$here/corpus/$corpus"/* "$work/$corpus"/ 2>/dev/null || true
  echo "== $name: ${secs}s"
  if ! "$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
       -artifact_prefix="$work/" "$work/$corpus" 2>"$work/$name.log"; then
    echo "FAIL: $name"; tail -40 "$work/$name.log"; status=1
    mkdir -p fuzz-artifacts && cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* fuzz-artifacts/ 2>/dev/null || true
  else
    grep -E "^#[0-9]+.*DONE" "$work/$name.log" | tail -1 || true
  fi
done
exit $status
