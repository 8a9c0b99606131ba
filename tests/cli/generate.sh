#!/usr/bin/env bash
# Golden-style checks of `beaconwatch generate`: determinism (same seed, same
# bytes), exact record counts in every format, valid JSON, labels, and the
# exit codes of help, usage errors and write failures.
# Usage: bash tests/cli/generate.sh path/to/beaconwatch
# shellcheck disable=SC2015 # "cond && ok ... || fail ...": ok() always succeeds
set -u
BW=${1:?usage: generate.sh path/to/beaconwatch}
if ! "$BW" generate --help >/dev/null 2>&1; then
    echo "skip: this build has no 'generate' command"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# expect CODE DESCRIPTION -- command...
expect() {
    local want=$1 what=$2
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else
        fail "$what: exit $got, want $want"; sed 's/^/  stderr: /' "$tmp/err" | head -5
    fi
}

# --- help and usage errors
expect 0 "--help" -- "$BW" generate --help
grep -q -- '--records' "$tmp/out" || fail "--help does not document --records"
expect 2 "unknown option" -- "$BW" generate --no-such-option
expect 2 "bad format" -- "$BW" generate --format xml
expect 2 "bad record count" -- "$BW" generate --records ten
expect 2 "negative record count" -- "$BW" generate --records -5
expect 2 "bad hosts" -- "$BW" generate --hosts 0
expect 2 "bad start" -- "$BW" generate --start yesterday
expect 2 "bad hours" -- "$BW" generate --hours 0
expect 2 "extra argument" -- "$BW" generate stray
expect 1 "unwritable output" -- "$BW" generate -n 10 -o "$tmp/no/such/dir/x.log"
if [ -w /dev/full ]; then
    expect 1 "write error (disk full)" -- "$BW" generate -n 100k -o /dev/full
fi

# --- determinism
gen() { "$BW" generate --hosts 40 --hours 2 "$@"; }
gen -n 5000 -s 7 -o "$tmp/a.log" || fail "generate a"
gen -n 5000 -s 7 -o "$tmp/b.log" || fail "generate b"
gen -n 5000 -s 8 -o "$tmp/c.log" || fail "generate c"
gen -n 5000 -s 7 >"$tmp/d.log" || fail "generate d (stdout)"
sa=$(sha256sum <"$tmp/a.log" | cut -d' ' -f1)
[ "$sa" = "$(sha256sum <"$tmp/b.log" | cut -d' ' -f1)" ] && ok "same seed, same bytes" ||
    fail "same seed gave different bytes"
[ "$sa" != "$(sha256sum <"$tmp/c.log" | cut -d' ' -f1)" ] && ok "other seed, other bytes" ||
    fail "different seeds gave the same bytes"
cmp -s "$tmp/a.log" "$tmp/d.log" && ok "-o FILE equals stdout" || fail "-o and stdout differ"
# --start as epoch seconds and as RFC 3339 name the same instant
gen -n 500 --start 1767225600 >"$tmp/e1.log" &&
    gen -n 500 --start 2026-01-01T00:00:00Z >"$tmp/e2.log" &&
    cmp -s "$tmp/e1.log" "$tmp/e2.log" && ok "--start epoch == RFC 3339" ||
    fail "--start epoch and RFC 3339 differ"
gen -n 500 --start 2025-06-01T12:00:00+02:00 | grep -v '^#' | head -1 | cut -f1 |
    awk '{ if ($1 >= 1748772000 && $1 < 1748772000 + 7200) exit 0; exit 1 }' &&
    ok "--start with an offset" || fail "--start with an offset is not honoured"

# --- Zeek TSV: header, columns, count, time order, footer
n=$(grep -vc '^#' "$tmp/a.log")
[ "$n" -eq 5000 ] && ok "zeek: 5000 records" || fail "zeek: $n records, want 5000"
head -1 "$tmp/a.log" | grep -q '^#separator \\x09$' || fail "zeek: no #separator line"
grep -q '^#fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	proto' "$tmp/a.log" ||
    fail "zeek: no #fields line"
tail -1 "$tmp/a.log" | grep -q '^#close	' || fail "zeek: no #close footer"
awk -F'\t' '/^#fields/ { nf = NF - 1 } !/^#/ { if (NF != nf) bad++; if ($1 < prev) unordered++;
    prev = $1 } END { exit (bad || unordered) ? 1 : 0 }' "$tmp/a.log" &&
    ok "zeek: columns match #fields, time-ordered" || fail "zeek: bad columns or order"

# --- suffixes
"$BW" generate -n 2k --hosts 10 --hours 1 | grep -vc '^#' | grep -qx 2000 &&
    ok "--records 2k" || fail "--records 2k is not 2000 records"

# --- every other format: record count and syntax
for f in ecs zeek-json eve asim-json asim-csv; do
    gen -n 3000 -s 3 --format "$f" -o "$tmp/f.$f" || { fail "generate $f"; continue; }
    lines=$(wc -l <"$tmp/f.$f")
    want=3000
    [ "$f" = asim-csv ] && want=3001
    [ "$lines" -eq "$want" ] && ok "$f: $lines lines" || fail "$f: $lines lines, want $want"
    case $f in
    asim-csv)
        head -1 "$tmp/f.$f" | grep -q '^TimeGenerated,SrcIpAddr,SrcPortNumber,DstIpAddr,' ||
            fail "asim-csv: header"
        awk -F, 'NR == 1 { nf = NF } NF != nf { bad++ } END { exit bad ? 1 : 0 }' \
            "$tmp/f.$f" && ok "asim-csv: constant column count" || fail "asim-csv: columns"
        ;;
    *)
        if command -v jq >/dev/null; then
            c=$(jq -c . "$tmp/f.$f" 2>/dev/null | wc -l)
            [ "$c" -eq 3000 ] && ok "$f: 3000 valid JSON documents" ||
                fail "$f: only $c valid JSON documents"
        fi
        ;;
    esac
done
if command -v jq >/dev/null; then
    jq -e 'select(.event.category == ["network"] and .host.name != null and
        .process.name != null and .source.ip != null and .destination.port != null)' \
        "$tmp/f.ecs" | grep -c '^{' | grep -qx 3000 && ok "ecs: every document has the fields" ||
        fail "ecs: documents lack fields"
    a=$(jq -r '.event.action' "$tmp/f.ecs" | sort | uniq -c | awk '{print $2}' | tr '\n' ' ')
    [ "$a" = "connection_attempted disconnect_received " ] && ok "ecs: event.action values" ||
        fail "ecs: event.action values are '$a'"
    jq -e 'select(.event_type == "flow" and .flow.start != null)' "$tmp/f.eve" |
        grep -c '^{' | grep -qx 3000 && ok "eve: flow events" || fail "eve: not all flow events"
fi

# --- labels
"$BW" generate -n 50k --hosts 30 --hours 3 --beacons 4 --labels "$tmp/labels.csv" \
    -o "$tmp/l.log" || fail "generate with labels"
head -1 "$tmp/labels.csv" |
    grep -q '^kind,src,host,process,dst,dport,period_s,jitter,model,' && ok "labels: header" ||
    fail "labels: header"
nb=$(awk -F, '$1 == "beacon" { print $13 }' "$tmp/labels.csv" | sort -u | wc -l)
[ "$nb" -eq 4 ] && ok "labels: 4 beacons" || fail "labels: $nb beacons, want 4"
# every beacon's flow is in the log as many times as its label says
awk -F, '$1 == "beacon" { print $2, $5, $6, $14 }' "$tmp/labels.csv" |
    while read -r src dst dport want; do
        got=$(awk -F'\t' -v s="$src" -v d="$dst" -v p="$dport" \
            '$3 == s && $5 == d && $6 == p { n++ } END { print n + 0 }' "$tmp/l.log")
        if [ "$got" -ne "$want" ]; then
            echo "FAIL: $src -> $dst:$dport has $got records, its label says $want"
            exit 1
        fi
    done && ok "labels: beacon record counts match the log" || fail "labels: counts"
"$BW" generate -n 1000 --hosts 5 --beacons 0 --labels "$tmp/l0.csv" >/dev/null &&
    ! grep -q '^beacon,' "$tmp/l0.csv" && ok "--beacons 0" || fail "--beacons 0 still has beacons"
# evasions and NAT: classes in the labels, the NAT address in the log
"$BW" generate -n 20k --hosts 20 --hours 6 --beacons 2 --evasions 4 --nat 5 \
    --labels "$tmp/le.csv" -o "$tmp/le.log" || fail "generate --evasions --nat"
head -1 "$tmp/le.csv" | grep -q ',class,period2_s,change_ts$' && ok "labels: class column" ||
    fail "labels: no class column"
for c in fibonacci exponential workhours schedule-change nat periodic; do
    awk -F, -v c="$c" '$17 == c { f = 1 } END { exit !f }' "$tmp/le.csv" &&
        ok "labels: class $c" || fail "labels: no class $c"
done
grep -v '^#' "$tmp/le.log" | cut -f3 | grep -qx '10.19.0.1' && ok "--nat: the gateway address" ||
    fail "--nat: no record from 10.19.0.1"
expect 2 "--nat 1" -- "$BW" generate --hosts 5 --nat 1
expect 2 "--nat above --hosts" -- "$BW" generate --hosts 5 --nat 6
expect 2 "bad --evasions" -- "$BW" generate --evasions many

# --- round trip through the readers: what `records --count` reads back is
# what was written (formats whose reader is not built yet read 0: skipped)
for f in zeek ecs zeek-json eve asim-json asim-csv; do
    file="$tmp/f.$f"
    [ "$f" = zeek ] && file="$tmp/a.log"
    want=3000
    [ "$f" = zeek ] && want=5000
    n=$("$BW" records --count --quiet --format "$f" "$file" 2>/dev/null | grep -oE '[0-9]+' |
        head -1)
    if [ -z "$n" ] || [ "$n" -eq 0 ]; then
        echo "skip: no $f reader in this build"
    elif [ "$n" -eq "$want" ]; then
        ok "$f: records --count reads back $n"
    else
        fail "$f: records --count reads $n records, $want were written"
    fi
done

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all generate checks passed"
