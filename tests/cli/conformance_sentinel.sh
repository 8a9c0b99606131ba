#!/usr/bin/env bash
# Conformance of rule "sentinel" through the CLI: runs `detect` on every case
# in $BW_SHARED/conformance/sentinel/ with the case's window and parameters
# and compares the NDJSON output with expected.ndjson (compare.py).
# Usage: bash conformance_sentinel.sh path/to/beaconwatch
set -u

bin=${1:?usage: conformance_sentinel.sh path/to/beaconwatch}
if [ -z "${BW_SHARED:-}" ] || [ ! -d "${BW_SHARED}/conformance/sentinel" ]; then
    msg="conformance_sentinel: \$BW_SHARED/conformance/sentinel is absent"
    if [ -n "${CI:-}" ]; then
        echo "FAIL: $msg and CI is set" >&2
        exit 1
    fi
    echo "skip: $msg"
    exit 77
fi
command -v python3 >/dev/null || { echo "skip: python3 is needed for compare.py"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 ncase=0
for dir in "$BW_SHARED"/conformance/sentinel/*/; do
    dir=${dir%/}
    name=${dir##*/}
    [ -f "$dir/run.json" ] || continue
    ncase=$((ncase + 1))
    # start, end and --set sentinel.<key>=<value> for each of "params".
    mapfile -t args < <(python3 - "$dir/run.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
print("--start"); print(run["start"])
print("--end"); print(run["end"])
for k, v in run.get("params", {}).items():
    print("--set"); print(f"sentinel.{k}={v}")
PY
)
    out="$tmp/$name.ndjson"
    if ! "$bin" detect --rule sentinel --format asim-csv --output ndjson "${args[@]}" \
            "$dir/sessions.csv" >"$out" 2>"$tmp/$name.err"; then
        echo "FAIL $name: beaconwatch detect exited with $?"
        sed 's/^/    /' "$tmp/$name.err"
        fail=1
        continue
    fi
    if python3 "$BW_SHARED/conformance/compare.py" "$dir/expected.ndjson" "$out" \
            --rule sentinel >"$tmp/$name.cmp"; then
        echo "ok $name: $(tail -n 1 "$tmp/$name.cmp")"
    else
        echo "FAIL $name:"
        sed 's/^/    /' "$tmp/$name.cmp"
        fail=1
    fi
done
if [ "$ncase" -eq 0 ]; then
    echo "FAIL: no cases under $BW_SHARED/conformance/sentinel"
    exit 1
fi
exit $fail
