#!/usr/bin/env bash
# Throughput benchmark: generates (once, cached) a large Zeek TSV and ECS
# NDJSON workload with a fixed seed, then times `wc -l` (the I/O floor),
# `beaconwatch records --count` and, when the rules are there, `beaconwatch
# detect` per rule, and prints one table. See bench/README.md.
# Usage: bash bench/run.sh path/to/beaconwatch
# shellcheck disable=SC2059 # one row format shared by every printf
set -euo pipefail

BW=${1:?usage: bench/run.sh path/to/beaconwatch}
[ -x "$BW" ] || { echo "bench: $BW is not an executable" >&2; exit 2; }
BW=$(cd "$(dirname "$BW")" && pwd)/$(basename "$BW")
here=$(cd "$(dirname "$0")" && pwd)
RECORDS=${BW_BENCH_RECORDS:-10000000}
DATA=${BW_BENCH_DIR:-$here/data}
SEED=${BW_BENCH_SEED:-20260101}
HOSTS=${BW_BENCH_HOSTS:-500}
RUNS=${BW_BENCH_RUNS:-3}
RULES=${BW_BENCH_RULES:-elastic sentinel beaconwatch}
mkdir -p "$DATA"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Peak RSS: GNU time when installed, else a Python wrapper (getrusage of
# the child). Both give KiB.
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o "$tmp/probe" true 2>/dev/null; then
    rss_cmd() { /usr/bin/time -f %M -o "$tmp/rss" "$@"; }
elif command -v python3 >/dev/null; then
    rss_cmd() {
        python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$tmp/rss" "$@"
    }
else
    rss_cmd() { echo 0 >"$tmp/rss"; "$@"; }
fi

now() { date +%s.%N; }

# measure NAME CMD...: runs CMD $RUNS times with stdout to $tmp/out; sets
# BEST (seconds, the fastest run), RSS (KiB, the largest), OK (0/1) and RC
# (the exit status of a failed run). When the array PAIR holds a command,
# it is timed right before each run and PAIRS gets each run's time over
# it: on a machine whose speed swings between minutes, a ratio of two
# runs a second apart says more than a ratio of two bests.
measure() {
    BEST="" RSS=0 OK=1 PAIRS=""
    local i t0 t1 dt r pt
    for ((i = 0; i < RUNS; i++)); do
        pt=""
        if [ "${#PAIR[@]}" -gt 0 ]; then
            t0=$(now)
            "${PAIR[@]}" >/dev/null 2>&1 && pt=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }')
        fi
        t0=$(now)
        RC=0
        rss_cmd "$@" >"$tmp/out" 2>"$tmp/err" || RC=$?
        if [ "$RC" -ne 0 ]; then
            OK=0
            return 0
        fi
        t1=$(now)
        dt=$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')
        if [ -z "$BEST" ] || awk -v a="$dt" -v b="$BEST" 'BEGIN{exit !(a < b)}'; then
            BEST=$dt
        fi
        [ -n "$pt" ] && PAIRS="$PAIRS $(awk -v a="$dt" -v b="$pt" 'BEGIN { print a / b }')"
        r=$(tail -1 "$tmp/rss" 2>/dev/null || echo 0)
        case $r in '' | *[!0-9]*) r=0 ;; esac
        if [ "$r" -gt "$RSS" ]; then RSS=$r; fi
    done
    return 0
}
PAIR=()

# "; pairs 2.05-2.73, median 2.19" from PAIRS (nothing when empty)
pairs_text() {
    [ -n "$PAIRS" ] || return 0
    echo "$PAIRS" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "; pairs %.2f-%.2f, median %.2f", v[1], v[NR], m }'
}

# --- the workload, generated once per (format, size, seed, hosts)
gen_file() { # FORMAT EXT -> path
    local f=$1 ext=$2
    local path="$DATA/bench-$f-$RECORDS-s$SEED-h$HOSTS.$ext"
    if [ ! -s "$path" ]; then
        echo "generating $RECORDS $f records -> $path" >&2
        local t0 t1
        t0=$(now)
        "$BW" generate --format "$f" --records "$RECORDS" --seed "$SEED" --hosts "$HOSTS" \
            --hours 24 --labels "$path.labels.csv" -o "$path.part"
        mv "$path.part" "$path"
        t1=$(now)
        awk -v n="$RECORDS" -v a="$t0" -v b="$t1" -v s="$(stat -c %s "$path")" 'BEGIN {
            d = b - a
            printf "  %.1f s, %.2f M records/s, %.0f MB/s\n", d, n / d / 1e6, s / d / 1e6
        }' >&2
    fi
    echo "$path"
}
zeek=$(gen_file zeek log)
ecs=$(gen_file ecs ndjson)

have_count=0
"$BW" records --help >/dev/null 2>&1 && have_count=1
have_detect=0
"$BW" detect --help >/dev/null 2>&1 && have_detect=1

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo "?")
echo
echo "beaconwatch benchmark: $RECORDS records, seed $SEED, $HOSTS hosts, best of $RUNS runs"
echo "machine: $(nproc) CPUs, $cpu"
echo
fmt="%-6s %-30s %9s %11s %8s %10s %8s %8s %12s\n"
printf "$fmt" format command "size MB" records seconds records/s MB/s "RSS MB" ratio
printf "$fmt" ------ ------------------------------ -------- ---------- ------- --------- \
    ------- ------- -----------

# row FORMAT LABEL SIZE RECORDS SECONDS RSS_KB RATIO
row() {
    awk -v f="$1" -v c="$2" -v sz="$3" -v n="$4" -v t="$5" -v rss="$6" -v ratio="$7" \
        -v fmt="$fmt" 'BEGIN {
        mb = sz / 1e6
        printf fmt, f, c, sprintf("%.0f", mb), n, sprintf("%.2f", t),
            sprintf("%.2fM", n / t / 1e6), sprintf("%.0f", mb / t),
            sprintf("%.1f", rss / 1024), ratio
    }'
}
errline() { grep -v '^Command exited' "$tmp/err" | head -1 | cut -c1-70; }
na() { printf "$fmt" "$1" "$2" - - - - - - "$3"; }

for pair in "zeek:$zeek" "ecs:$ecs"; do
    f=${pair%%:*}
    file=${pair#*:}
    size=$(stat -c %s "$file")
    cat "$file" >/dev/null # warm the page cache
    measure wc -l "$file"
    lines=$(awk '{print $1}' "$tmp/out")
    wc_t=$BEST
    row "$f" "wc -l" "$size" "$lines" "$wc_t" "$RSS" "1.00x wc"

    count_t=""
    if [ "$have_count" = 1 ]; then
        measure "$BW" records --count "$file"
        if [ "$OK" = 1 ]; then
            n=$(grep -oE '[0-9]+' "$tmp/out" | head -1)
            count_t=$BEST
            ratio=$(awk -v a="$BEST" -v b="$wc_t" 'BEGIN { printf "%.2fx wc", a / b }')
            [ "$n" = "$RECORDS" ] || ratio="$ratio (!$n)"
            row "$f" "records --count" "$size" "$RECORDS" "$BEST" "$RSS" "$ratio"
        else
            na "$f" "records --count" "failed ($RC): $(errline)"
        fi
    else
        na "$f" "records --count" "n/a"
    fi

    if [ "$have_detect" = 1 ]; then
        for rule in $RULES; do
            # Make every rule do its real work on this workload: Zeek has
            # no processes (elastic groups by source/destination/port), and
            # sentinel's default window (1-2 days before the newest event)
            # would miss a 24 h capture, so it gets the capture's day.
            extra=()
            [ "$rule" = elastic ] && [ "$f" = zeek ] && extra=(--group-by src_dst_port)
            [ "$rule" = sentinel ] && extra=(--start 2026-01-01T00:00:00Z --end 2026-01-02T00:00:00Z)
            PAIR=()
            [ -n "$count_t" ] && PAIR=("$BW" records --count "$file")
            measure "$BW" detect --quiet --rule "$rule" "${extra[@]}" --output ndjson "$file"
            PAIR=()
            if [ "$OK" = 1 ]; then
                ratio=$(awk -v a="$BEST" -v b="${count_t:-0}" \
                    'BEGIN { if (b > 0) printf "%.2fx count", a / b; else print "-" }')
                ratio="$ratio$(pairs_text)"
                row "$f" "detect --rule $rule" "$size" "$RECORDS" "$BEST" "$RSS" "$ratio"
            else
                na "$f" "detect --rule $rule" "n/a ($RC): $(errline)"
            fi
        done
    fi
done
echo
echo "ratio: wall time over the 'wc -l' time of the same file (the I/O floor);"
echo "detect rows: best over the best 'records --count' time, then each run over a"
echo "count run just before it (pairs). Data: $DATA (delete to regenerate)."
