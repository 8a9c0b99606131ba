#!/usr/bin/env bash
# Conformance of rule `elastic` through the CLI: every case of
# $BW_SHARED/conformance/elastic is run with `detect --rule elastic --format
# ecs --all --output ndjson --now <run.json now>` (one thread and four) and
# checked with the shared compare.py (1e-9 relative).
BW=${1:?usage: conformance_elastic.sh path/to/beaconwatch}
SHARED=${BW_SHARED:-}
CASES=$SHARED/conformance/elastic
skip() {
  if [ -n "${CI:-}" ]; then echo "FAIL: $1 and CI is set"; exit 1; fi
  echo "skip: $1"; exit 77
}
[ -n "$SHARED" ] && [ -d "$CASES" ] || skip "BW_SHARED is not set or has no conformance/elastic"
command -v python3 >/dev/null || skip "python3 is not installed"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fails=0
for dir in "$CASES"/*/; do
  name=$(basename "$dir")
  [ -f "$dir/run.json" ] && [ -f "$dir/events.ndjson" ] || continue
  # run.json -> the run's now and one --set per parameter override
  now=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["now"]))' \
        "$dir/run.json") || {
    echo "FAIL $name: unreadable run.json"; fails=$((fails+1)); continue
  }
  mapfile -t sets < <(python3 -c '
import json, sys
for k, v in json.load(open(sys.argv[1])).get("params", {}).items():
    if isinstance(v, list):
        v = ",".join(repr(x) for x in v)
    print("--set"); print("elastic.%s=%s" % (k, v))' "$dir/run.json")
  for threads in 1 4; do
    out=$TMP/$name.$threads.ndjson
    if ! "$BW" detect --rule elastic --format ecs --all --output ndjson --now "$now" \
         -j "$threads" -q "${sets[@]}" "$dir/events.ndjson" >"$out" 2>"$TMP/err"; then
      echo "FAIL $name (-j $threads): detect exited non-zero"; cat "$TMP/err"
      fails=$((fails+1)); continue
    fi
    if python3 "$SHARED/conformance/compare.py" "$dir/expected.ndjson" "$out" \
         --rule elastic >"$TMP/cmp" 2>&1; then
      echo "ok   $name (-j $threads): $(tail -1 "$TMP/cmp")"
    else
      echo "FAIL $name (-j $threads):"; head -20 "$TMP/cmp"
      fails=$((fails+1))
    fi
  done
done
[ $fails -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
