#!/usr/bin/env bash
# Detection accuracy: beaconwatch vs elastic vs sentinel on the same data.
# 1. Labelled generator, two workloads per seed, each written as ECS NDJSON
#    (beaconwatch, elastic) and ASIM CSV (sentinel) with its labels:
#    - day:   a 24 h workplace (sleeps 10 s - 1 h), evasive beacons, a NAT
#             gateway carrying several hosts;
#    - weeks: a three-week workplace (sleeps up to 24 h).
#    Findings are scored by bench/eval_score.py: per class (standard beacons
#    by jitter model, NAT'd, each evasion), benign false alerts, precision,
#    recall, average precision, beaconwatch's sleep/jitter estimates, and
#    the targets of issue 6.
# 2. Real labelled data in ../shared/data (bench/eval_real.sh), when present.
# Usage: bash bench/eval.sh path/to/beaconwatch
# Environment: BW_EVAL_SEEDS (1 2 3), BW_EVAL_WORKLOADS (day weeks),
#   BW_EVAL_HOSTS (500; weeks: 3/25 of it, so that the periodic traffic
#   leaves room for three weeks), BW_EVAL_RECORDS (2500000), BW_EVAL_BEACONS
#   (16), BW_EVAL_EVASIONS (8), BW_EVAL_NAT (25), BW_SHARED.
set -euo pipefail

BW=${1:?usage: bench/eval.sh path/to/beaconwatch}
[ -x "$BW" ] || { echo "eval: $BW is not an executable" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
SEEDS=${BW_EVAL_SEEDS:-1 2 3}
WORKLOADS=${BW_EVAL_WORKLOADS:-day weeks}
HOSTS=${BW_EVAL_HOSTS:-500}
RECORDS=${BW_EVAL_RECORDS:-2500000}
BEACONS=${BW_EVAL_BEACONS:-16}
EVASIONS=${BW_EVAL_EVASIONS:-8}
NAT=${BW_EVAL_NAT:-25}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

scores=()
for w in $WORKLOADS; do
    case $w in
    day) hours=24 hosts=$HOSTS records=$RECORDS nat=$NAT ;;
    weeks) hours=504 hosts=$((HOSTS * 3 / 25)) records=$RECORDS nat=$((NAT / 5)) ;;
    *) echo "eval: unknown workload '$w' (day, weeks)" >&2; exit 2 ;;
    esac
    [ "$nat" -ge 2 ] || nat=0
    echo "# $w: seeds [$SEEDS], $hosts hosts ($nat behind NAT), $records records," \
        "$BEACONS beacons + $EVASIONS evasive, ${hours} h"
    for s in $SEEDS; do
        d=$tmp/$w-$s
        mkdir -p "$d"
        gen=(generate -s "$s" -n "$records" --hosts "$hosts" --beacons "$BEACONS"
            --evasions "$EVASIONS" --nat "$nat" --hours "$hours")
        "$BW" "${gen[@]}" -f ecs -o "$d/in.ndjson" --labels "$d/labels.csv"
        "$BW" "${gen[@]}" -f asim-csv -o "$d/in.csv"
        # the generator ends a run early when its periodic traffic alone
        # fills the record count: say how long this one really is
        python3 -c 'import csv, sys, datetime as dt
ls = [l for l in csv.DictReader(open(sys.argv[1])) if l["first_ts"]]
t = lambda s: dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
span = max(t(l["last_ts"]) for l in ls) - min(t(l["first_ts"]) for l in ls)
print("  seed %s: %.1f days of records" % (sys.argv[2], span.total_seconds() / 86400))' \
            "$d/labels.csv" "$s"
        "$BW" detect -q -o ndjson --rule beaconwatch "$d/in.ndjson" >"$d/beaconwatch.ndjson"
        # elastic over the whole run (its default is the last 6 h only)
        "$BW" detect -q -o ndjson --rule elastic \
            --set "elastic.number_buckets_in_range=$((hours * 60))" "$d/in.ndjson" \
            >"$d/elastic.ndjson"
        # sentinel over the whole run (its default is the day before yesterday)
        "$BW" detect -q -o ndjson --rule sentinel --start 1970-01-01T00:00:00Z \
            --end 2100-01-01T00:00:00Z "$d/in.csv" >"$d/sentinel.ndjson"
        python3 "$here/eval_score.py" "$d/labels.csv" beaconwatch="$d/beaconwatch.ndjson" \
            elastic="$d/elastic.ndjson" sentinel="$d/sentinel.ndjson" \
            --json "$d/score.json" >/dev/null
        rm -f "$d/in.ndjson" "$d/in.csv"
        scores+=("$d/score.json")
    done
    echo
    echo "## Workload $w"
    echo
    ws=()
    for s in $SEEDS; do ws+=("$tmp/$w-$s/score.json"); done
    python3 "$here/eval_score.py" --report "${ws[@]}"
    echo
done
if [ "$(wc -w <<<"$WORKLOADS")" -gt 1 ]; then
    echo "## All workloads"
    echo
    python3 "$here/eval_score.py" --report "${scores[@]}"
    echo
fi

echo "## Real labelled data"
echo
bash "$here/eval_real.sh" "$BW"
