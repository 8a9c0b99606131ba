#!/usr/bin/env bash
# Detection accuracy: beaconwatch vs elastic vs sentinel on the same data.
# 1. Labelled generator: per seed, the same workplace written as ECS NDJSON
#    (beaconwatch, elastic) and ASIM CSV (sentinel) with its labels; each
#    rule's findings scored by bench/eval_score.py (precision, recall,
#    average precision, and beaconwatch's sleep/jitter estimates).
# 2. Real labelled data in ../shared/data (Stratosphere): alerts by label,
#    and whether the known C2 of capture 003 is found.
# Usage: bash bench/eval.sh path/to/beaconwatch   (env: BW_EVAL_SEEDS,
# BW_EVAL_HOSTS, BW_EVAL_RECORDS, BW_EVAL_BEACONS, BW_EVAL_HOURS, BW_SHARED)
set -euo pipefail

BW=${1:?usage: bench/eval.sh path/to/beaconwatch}
[ -x "$BW" ] || { echo "eval: $BW is not an executable" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
SEEDS=${BW_EVAL_SEEDS:-1 2 3}
HOSTS=${BW_EVAL_HOSTS:-500}
RECORDS=${BW_EVAL_RECORDS:-2500000}
BEACONS=${BW_EVAL_BEACONS:-16}
HOURS=${BW_EVAL_HOURS:-24}
SHARED=${BW_SHARED:-$here/../../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "# labelled generator: seeds [$SEEDS], $HOSTS hosts, $RECORDS records, $BEACONS beacons, ${HOURS} h"
for s in $SEEDS; do
    d=$tmp/s$s
    mkdir -p "$d"
    gen=(generate -s "$s" -n "$RECORDS" --hosts "$HOSTS" --beacons "$BEACONS" --hours "$HOURS")
    "$BW" "${gen[@]}" -f ecs -o "$d/in.ndjson" --labels "$d/labels.csv"
    "$BW" "${gen[@]}" -f asim-csv -o "$d/in.csv"
    "$BW" detect -q -o ndjson --rule beaconwatch "$d/in.ndjson" >"$d/beaconwatch.ndjson"
    # elastic over the whole run (its default is the last 6 h only)
    "$BW" detect -q -o ndjson --rule elastic \
        --set "elastic.number_buckets_in_range=$((HOURS * 60))" "$d/in.ndjson" >"$d/elastic.ndjson"
    # sentinel over the whole run (its default is yesterday)
    "$BW" detect -q -o ndjson --rule sentinel --start 1970-01-01T00:00:00Z \
        --end 2100-01-01T00:00:00Z "$d/in.csv" >"$d/sentinel.ndjson"
    python3 "$here/eval_score.py" "$d/labels.csv" beaconwatch="$d/beaconwatch.ndjson" \
        elastic="$d/elastic.ndjson" sentinel="$d/sentinel.ndjson" --json "$d/score.json" >/dev/null
    rm -f "$d/in.ndjson" "$d/in.csv"
done

python3 - "$tmp" $SEEDS <<'PY'
import json, sys
tmp, seeds = sys.argv[1], sys.argv[2:]
tot = {}
for s in seeds:
    for r in json.load(open("%s/s%s/score.json" % (tmp, s))):
        t = tot.setdefault(r["rule"], {"alerts": 0, "tp": 0, "beacons": 0, "found": 0,
                                       "ap": 0.0, "est": 0, "s_ok": 0, "j_ok": 0, "miss": []})
        t["alerts"] += r["alerts"]; t["tp"] += r["tp_alerts"]
        t["beacons"] += r["beacons"]; t["found"] += r["beacons_found"]
        t["ap"] += r["average_precision"] * r["beacons"]
        if "estimated" in r:
            t["est"] += r["estimated"]; t["s_ok"] += r["sleep_within_2pct"]
            t["j_ok"] += r["jitter_within_5pts"]; t["miss"] += r["estimate_misses"]
print("| rule | beacons found / eligible | recall | alerts | precision | average precision |")
print("|---|---|---|---|---|---|")
for rule in ("beaconwatch", "elastic", "sentinel"):
    t = tot[rule]
    prec = t["tp"] / t["alerts"] if t["alerts"] else float("nan")
    print("| %s | %d / %d | %.3f | %d | %.3f | %.3f |" % (
        rule, t["found"], t["beacons"], t["found"] / t["beacons"], t["alerts"], prec,
        t["ap"] / t["beacons"]))
t = tot["beaconwatch"]
print("\nbeaconwatch estimates on %d single-destination beacon findings: S within 2 %%: %d, "
      "J within 5 points: %d" % (t["est"], t["s_ok"], t["j_ok"]))
for m in t["miss"]:
    print("  miss: " + m)
PY

echo
echo "# real labelled data (Stratosphere)"
if [ ! -d "$SHARED/data/stratosphere" ]; then
    echo "skip: $SHARED/data/stratosphere is absent"
    exit 0
fi
for c in 003-zeek-scenario-malicious 008-zeek-mixed 010-zeek-mixed 011-zeek-mixed 012-zeek-mixed; do
    dir=$SHARED/data/stratosphere/$c
    conn=$dir/conn.log
    [ -f "$conn" ] || conn=$dir/data/conn.log.labeled
    c2=-
    [ "$c" = 003-zeek-scenario-malicious ] && c2=147.32.83.234:1337
    "$BW" detect -q -o ndjson --rule beaconwatch "$conn" >"$tmp/r-bw.ndjson"
    # the captures' own network is public address space (147.32/16)
    "$BW" detect -q -o ndjson --rule elastic --set elastic.group_by=src_dst_port \
        --set elastic.internal=147.32.0.0/16,10.0.0.0/8 \
        --set elastic.number_buckets_in_range=1440 "$conn" >"$tmp/r-el.ndjson"
    "$BW" detect -q -o ndjson --rule sentinel --start 1970-01-01T00:00:00Z \
        --end 2100-01-01T00:00:00Z "$conn" >"$tmp/r-se.ndjson"
    echo "## $c"
    python3 "$here/eval_score.py" --real "$conn" "$c2" beaconwatch="$tmp/r-bw.ndjson" \
        elastic="$tmp/r-el.ndjson" sentinel="$tmp/r-se.ndjson"
done
