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
# dst_port: four hosts calling one destination every 120 s (Cobalt Strike
# 20 % jitter), plus 200 hosts with random timing to other destinations:
# one dst_port finding naming the four sources; none with the grouping off
python3 - "$TMP/dp.ndjson" <<'PY'
import json, random, sys
random.seed(5)
ev = []
def rec(t, src, dst, port):
    return (t, {"@timestamp": "2026-01-01T%02d:%02d:%06.3fZ" % (t // 3600, t % 3600 // 60, t % 60),
                "source": {"ip": src, "port": 50000, "bytes": 400},
                "destination": {"ip": dst, "port": port, "bytes": 120}})
for h in range(4):
    t = random.uniform(0, 120)
    while t < 4 * 3600:
        ev.append(rec(t, "10.9.0.%d" % (h + 1), "203.0.113.77", 8443))
        t += 120 * (1 - 0.2 * random.random())
for h in range(200):
    t = 0
    for _ in range(30):
        t += random.expovariate(1 / 400)
        if t < 4 * 3600:
            ev.append(rec(t, "10.8.%d.%d" % (h // 100, h % 100 + 1), "192.0.2.%d" % (h % 50 + 1), 443))
ev.sort(key=lambda e: e[0])
with open(sys.argv[1], "w") as f:
    for _, d in ev:
        f.write(json.dumps(d) + "\n")
PY
"$BW" detect -q -o ndjson --rule beaconwatch "$TMP/dp.ndjson" >"$TMP/dp-out.ndjson"
expect "dst_port: detect exit" 0 "$?"
expect "dst_port: one finding for the shared destination" "1 203.0.113.77:8443 4" "$(python3 -c '
import json, sys
dp = [json.loads(l) for l in open(sys.argv[1]) if "\"by\":\"dst_port\"" in l]
print(len(dp), *[(d["group"]["destination"] + " " + str(d["beacon"]["periodic_sources"])) for d in dp])' "$TMP/dp-out.ndjson")"
expect "dst_port: its sources are the four hosts" "10.9.0.1 10.9.0.2 10.9.0.3 10.9.0.4" "$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["group"]["by"] == "dst_port":
        print(*sorted(d["beacon"]["source_ips"]))' "$TMP/dp-out.ndjson")"
"$BW" detect -q -o ndjson --rule beaconwatch --set beaconwatch.group_by=src_dst_port \
    "$TMP/dp.ndjson" >"$TMP/dp-off.ndjson"
expect "dst_port: none when the grouping is off" 0 "$(grep -c '"by":"dst_port"' "$TMP/dp-off.ndjson")"
expect_rc "dst_port needs src_dst_port" 2 "$BW" detect --rule beaconwatch \
    --set beaconwatch.group_by=dst_port "$TMP/dp.ndjson"
done_tests
