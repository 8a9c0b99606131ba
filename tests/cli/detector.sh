#!/usr/bin/env bash
# End-to-end check of rule `beaconwatch` on a small labelled generated
# workload: recall and precision floors from the generator's labels (scored
# by bench/eval_score.py), the table output, parameter errors, and the same
# findings with 1 and 4 worker threads.
# Usage: bash tests/cli/detector.sh path/to/beaconwatch
set -u
. "$(dirname "$0")/lib.inc"
SRC=${BW_SRC:-$(dirname "$0")/../..}
if ! "$BW" generate --help >/dev/null 2>&1; then
    echo "skip: this build has no 'generate' command"; exit 77
fi
command -v python3 >/dev/null || { echo "skip: python3 is absent"; exit 77; }

"$BW" generate -s 7 -n 300000 --hosts 60 --beacons 10 --hours 12 -f ecs \
    -o "$TMP/in.ndjson" --labels "$TMP/labels.csv" 2>/dev/null
"$BW" detect -q -j 1 -o ndjson --rule beaconwatch "$TMP/in.ndjson" >"$TMP/f1.ndjson"
expect "detect exit" 0 "$?"
"$BW" detect -q -j 4 -o ndjson --rule beaconwatch "$TMP/in.ndjson" >"$TMP/f4.ndjson"
expect "1 and 4 workers give the same findings" "" \
    "$(diff <(sed 's/"id":"[0-9a-f]*"//' "$TMP/f1.ndjson") <(sed 's/"id":"[0-9a-f]*"//' "$TMP/f4.ndjson") | head -3)"

# beaconwatch is the default rule; --internal reaches it; --group-by needs elastic
"$BW" detect -q -j 1 -o ndjson "$TMP/in.ndjson" >"$TMP/fdef.ndjson"
expect "default rule is beaconwatch" "" "$(cmp "$TMP/f1.ndjson" "$TMP/fdef.ndjson" 2>&1)"
expect "--internal 0.0.0.0/0,::/0: every destination internal, no finding" 0 \
    "$("$BW" detect -q -o ndjson --internal 0.0.0.0/0,::/0 "$TMP/in.ndjson" | wc -l)"
expect_rc "--group-by without elastic" 2 "$BW" detect --group-by src_dst_port "$TMP/in.ndjson"
expect "--group-by error names elastic" 1 "$(grep -c 'rule elastic' "$TMP/err")"

python3 "$SRC/bench/eval_score.py" "$TMP/labels.csv" beaconwatch="$TMP/f1.ndjson" >"$TMP/score.json"
read -r recall precision ap beacons <<<"$(python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
print(r["recall"], r["precision"], r["average_precision"], r["beacons"])' "$TMP/score.json")"
echo "beacons $beacons, recall $recall, precision $precision, AP $ap"
expect "some beacons are eligible" 1 "$(python3 -c "print(int($beacons >= 5))")"
expect "recall >= 0.9" 1 "$(python3 -c "print(int($recall >= 0.9))")"
expect "precision >= 0.9" 1 "$(python3 -c "print(int($precision >= 0.9))")"
expect "average precision >= 0.9" 1 "$(python3 -c "print(int($ap >= 0.9))")"

# every finding is one line of JSON with the documented fields
expect "findings carry every field" "" "$(python3 -c '
import json, sys
need = ["sleep_s", "sleep_ci", "jitter", "jitter_ci", "jitter_model", "beats_seen",
        "coverage", "src_bytes", "dst_bytes", "sources", "p_value", "q_value", "score",
        "explanation", "alert", "benign"]
for line in open(sys.argv[1]):
    b = json.loads(line)["beacon"]
    miss = [k for k in need if k not in b]
    if miss or not 0 <= b["score"] <= 1:
        print(miss, b.get("score")); break' "$TMP/f1.ndjson")"

"$BW" detect -q -o table --rule beaconwatch "$TMP/in.ndjson" >"$TMP/table.txt"
expect "table header" 1 "$(head -2 "$TMP/table.txt" | grep -c 'source.*destination.*score.*period_s.*jitter.*beats_pct.*explanation')"
expect_rc "bad parameter" 2 "$BW" detect --rule beaconwatch --set beaconwatch.fdr=7 "$TMP/in.ndjson"
expect "error names the key" 1 "$(grep -c 'beaconwatch.fdr' "$TMP/err")"
done_tests
