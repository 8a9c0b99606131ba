#!/usr/bin/env bash
# End-to-end checks of the findings store: `detect --store` round-trips
# through `findings`, reruns add no duplicates, the drilldown sample, the
# alert rules with their de-duplication and exclusion list, `status`,
# `--retain`, and the exit codes of the store commands.
# Usage: bash tests/cli/store.sh path/to/beaconwatch
set -u
# shellcheck source=lib.inc
. "$(dirname "$0")/lib.inc"
if ! "$BW" findings --help >/dev/null 2>&1; then echo "skip: no store in this build"; exit 77; fi
command -v jq >/dev/null || { echo "skip: jq missing"; exit 77; }
SRC=${BW_SRC:-$(dirname "$0")/../..}
DB=$TMP/t.db

# --- help and usage
for c in findings alerts status; do
  expect_rc "$c --help" 0 "$BW" $c --help
  expect_rc "$c bad option" 2 "$BW" $c --nope
done
expect_rc "findings: missing store" 1 "$BW" findings --store "$TMP/none.db"
expect "findings: missing store names it" 1 "$(grep -c 'none.db' "$TMP/err")"
expect_rc "status: missing store" 1 "$BW" status --store "$TMP/none.db"
expect_rc "findings --records without a group" 2 "$BW" findings --store "$DB" --records
expect_rc "detect --retain without --store" 2 "$BW" detect --retain 1d -
expect_rc "detect --retain bad" 2 "$BW" detect --store "$DB" --retain 3x -

# --- elastic: detect --store, read back the same documents
"$BW" generate -f ecs -n 100k --hours 8 --seed 7 -o "$TMP/ecs.ndjson" 2>/dev/null
"$BW" detect -q -r elastic -o ndjson --store "$DB" "$TMP/ecs.ndjson" >"$TMP/det.ndjson"
n=$(wc -l <"$TMP/det.ndjson")
[ "$n" -gt 10 ] && expect "elastic findings found" 1 1 || expect "elastic findings found" ">10" "$n"
"$BW" findings --store "$DB" -o ndjson >"$TMP/fnd.ndjson"
expect "findings == detect output" "$(sort "$TMP/det.ndjson" | md5sum)" "$(sort "$TMP/fnd.ndjson" | md5sum)"
# A rerun over the same data rewrites the same ids: no duplicates.
"$BW" detect -q -r elastic -o ndjson --store "$DB" "$TMP/ecs.ndjson" >/dev/null
expect "rerun adds no duplicates" "$n" "$("$BW" findings --store "$DB" -o ndjson | wc -l)"
expect "status findings" "$n" "$("$BW" status --store "$DB" -o json | jq .findings)"
expect "status schema" 1 "$("$BW" status --store "$DB" -o json | jq .schema)"
expect "status last run findings" "$n" \
  "$("$BW" status --store "$DB" -o json | jq '.rules[] | select(.rule=="elastic") | .last_run_findings')"

# Filters.
h=$(head -1 "$TMP/det.ndjson" | jq -r '.host.name')
p=$(head -1 "$TMP/det.ndjson" | jq -r '.process.name')
want=$(jq -r --arg h "$h" 'select(.host.name==$h) | .host.name' "$TMP/det.ndjson" | wc -l)
expect "--host filter" "$want" "$("$BW" findings --store "$DB" --host "$h" -o ndjson | wc -l)"
expect "--host --process filter" 1 \
  "$("$BW" findings --store "$DB" --host "$h" --process "$p" -o ndjson | wc -l)"
expect "--rule sentinel: none" 0 "$("$BW" findings --store "$DB" -r sentinel -o ndjson | wc -l)"
expect "--limit" 3 "$("$BW" findings --store "$DB" -n 3 -o ndjson | wc -l)"
expect "--since in the future" 0 "$("$BW" findings --store "$DB" --since 2100-01-01T00:00:00Z -o ndjson | wc -l)"

# Drilldown: the sampled records of that group are its records.
"$BW" findings --store "$DB" --host "$h" --process "$p" --records >"$TMP/rec.ndjson"
want=$("$BW" records "$TMP/ecs.ndjson" 2>/dev/null |
  jq -c --arg h "$h" --arg p "$p" 'select(.host_name==$h and .process_name==$p)' | wc -l)
expect "drilldown sample = the group's records" "$want" "$(wc -l <"$TMP/rec.ndjson")"
expect "drilldown records are the group's" "$want" \
  "$(jq -r --arg h "$h" --arg p "$p" 'select(.host_name==$h and .process_name==$p) | .ts' "$TMP/rec.ndjson" | sort -u | wc -l)"
expect "drilldown newest first" "$(jq -r .ts "$TMP/rec.ndjson" | sort -r | md5sum)" "$(jq -r .ts "$TMP/rec.ndjson" | md5sum)"
# A per-group cap of 5 keeps the 5 newest.
"$BW" detect -q -r elastic --store "$TMP/cap.db" --sample 5 "$TMP/ecs.ndjson" >/dev/null
expect "--sample 5 keeps the newest 5" "$(jq -r .ts "$TMP/rec.ndjson" | head -5 | md5sum)" \
  "$("$BW" findings --store "$TMP/cap.db" --host "$h" --process "$p" --records | jq -r .ts | md5sum)"
"$BW" detect -q -r elastic --store "$TMP/none0.db" --sample 0 "$TMP/ecs.ndjson" >/dev/null
expect "--sample 0 samples nothing" 0 "$("$BW" status --store "$TMP/none0.db" -o json | jq .sampled_records)"

# --- alerts over the elastic findings
"$BW" alerts --store "$DB" -o ndjson >"$TMP/al1.ndjson" 2>"$TMP/al1.err"
a1=$(wc -l <"$TMP/al1.ndjson")
flag=$(jq -r 'select(.beacon_stats.is_beaconing) | .host.name' "$TMP/det.ndjson" | wc -l)
[ "$a1" -gt 0 ] && expect "alerts raised" 1 1 || expect "alerts raised" ">0" "$a1"
expect "alert documents are JSON" "$a1" "$(jq -c . "$TMP/al1.ndjson" | wc -l)"
high_all=$(jq -r 'select(.beacon_stats.beaconing_score==3) | .host.name' "$TMP/det.ndjson" | wc -l)
high=$high_all; [ "$high" -gt 100 ] && high=100
expect "high-confidence alerts" "$high" \
  "$(jq -r 'select(."kibana.alert.rule.name" | endswith("High Confidence")) | .host.name' "$TMP/al1.ndjson" | wc -l)"
excl=$(jq -R . "$SRC/config/lists/elastic-alert-excluded-processes.txt" | grep -v '^"#' | jq -s .)
c2_all=$(jq -r --argjson x "$excl" 'select(.beacon_stats.is_beaconing and ((.process.name) as $p | $x | index($p) | not)) | .host.name' "$TMP/det.ndjson" | wc -l)
want=$c2_all; [ "$want" -gt 100 ] && want=100
expect "c2 alerts skip the 38 excluded processes" "$want" \
  "$(jq -r 'select(."kibana.alert.rule.name" | endswith("Activity")) | .host.name' "$TMP/al1.ndjson" | wc -l)"
expect "alert MITRE" "$a1" "$(jq -r '.threat[0].technique[1].subtechnique[0].id' "$TMP/al1.ndjson" | grep -c T1102.002)"
expect "alert risk 21" "$a1" "$(jq -r '."kibana.alert.risk_score"' "$TMP/al1.ndjson" | grep -c '^21$')"
"$BW" alerts --store "$DB" -o ndjson >"$TMP/al2.ndjson" 2>"$TMP/al2.err"
# At most 100 new alerts per rule and run: the second run raises the rest.
rest() { local r=$(($1 - 100)); [ $r -lt 0 ] && r=0; [ $r -gt 100 ] && r=100; echo $r; }
expect "second run: the rest, no duplicates" "$(($(rest "$high_all") + $(rest "$c2_all")))" \
  "$(wc -l <"$TMP/al2.ndjson")"
expect "no alert twice" "$(cat "$TMP/al1.ndjson" "$TMP/al2.ndjson" | jq -r '"\(."kibana.alert.rule.name") \(."kibana.alert.ancestors"[0].id)"' | sort | uniq -d | wc -l)" 0
expect "stored alerts" "$((a1 + $(wc -l <"$TMP/al2.ndjson")))" \
  "$("$BW" alerts --store "$DB" --list -o ndjson | wc -l)"
# Out of the hour of event.ingested: nothing.
expect "alerts a day later: none" 0 \
  "$("$BW" alerts --store "$DB" --now "$(($(date +%s) + 86400))" -o ndjson 2>/dev/null | wc -l)"
[ "$flag" -gt 0 ] || expect "beaconing findings" ">0" "$flag"

# --- sentinel findings and alerts
"$BW" generate -f asim-csv -n 60k --hours 48 --seed 3 -o "$TMP/asim.csv" 2>/dev/null
"$BW" detect -q -r sentinel --now 2026-01-03T00:00:00Z -o ndjson --store "$TMP/s.db" "$TMP/asim.csv" >"$TMP/sd.ndjson"
sn=$(wc -l <"$TMP/sd.ndjson")
expect "sentinel findings stored" "$sn" "$("$BW" findings --store "$TMP/s.db" -r 'sentinel*' -o ndjson | wc -l)"
expect "sentinel alerts" "$sn" "$("$BW" alerts --store "$TMP/s.db" -r sentinel -o ndjson 2>/dev/null | wc -l)"
if [ "$sn" -gt 0 ]; then
  src=$(head -1 "$TMP/sd.ndjson" | jq -r .SrcIpAddr)
  dst=$(head -1 "$TMP/sd.ndjson" | jq -r '"\(.DstIpAddr):\(.DstPortNumber)"')
  got=$("$BW" findings --store "$TMP/s.db" --host "$src" --process "$dst" --records | jq -r '"\(.src_ip) \(.dst_ip):\(.dst_port)"' | sort -u)
  expect "sentinel drilldown by (src, dst:port)" "$src $dst" "$got"
fi

# --- beaconwatch findings and alerts (a generated workload has beacons)
"$BW" detect -q -r beaconwatch -o ndjson --store "$TMP/b.db" "$TMP/ecs.ndjson" >"$TMP/bd.ndjson"
bn=$(jq -c 'select(.beacon.alert)' "$TMP/bd.ndjson" | wc -l)
[ "$bn" -gt 0 ] && expect "beaconwatch alerting findings" 1 1 || expect "beaconwatch alerting findings" ">0" "$bn"
"$BW" alerts --store "$TMP/b.db" -r beaconwatch --max 100000 -o ndjson >"$TMP/ba.ndjson" 2>/dev/null
expect "beaconwatch alerts: one per alerting finding" "$bn" "$(wc -l <"$TMP/ba.ndjson")"
expect "beaconwatch alert reason is the explanation" \
  "$(jq -r 'select(.beacon.alert) | .beacon.explanation' "$TMP/bd.ndjson" | sort)" \
  "$(jq -r '."kibana.alert.reason"' "$TMP/ba.ndjson" | sort)"
expect "beaconwatch alert severities" 0 \
  "$(jq -r 'select((."kibana.alert.severity" == "high") != (.beaconwatch.beacon.score >= 0.9)) | 1' "$TMP/ba.ndjson" | wc -l)"
expect "beaconwatch alerts: none twice" 0 \
  "$("$BW" alerts --store "$TMP/b.db" -r beaconwatch -o ndjson 2>/dev/null | wc -l)"

# --- retention relative to the run's time
"$BW" detect -r elastic --store "$DB" --retain 600s "$TMP/ecs.ndjson" >/dev/null 2>"$TMP/ret.err"
left=$("$BW" findings --store "$DB" -o ndjson | wc -l)
[ "$left" -lt "$n" ] && expect "retention deleted old findings" 1 1 || expect "retention deleted" "<$n" "$left"
last=$("$BW" records "$TMP/ecs.ndjson" 2>/dev/null | jq -r .ts | sort | tail -1)
cut=$(( $(date -d "$last" +%s) - 600 ))
old=$("$BW" findings --store "$DB" -o ndjson | jq -r '."@timestamp"' |
  while read -r t; do [ "$(date -d "$t" +%s)" -lt "$cut" ] && echo x; done | wc -l)
expect "no finding older than the cutoff" 0 "$old"
grep -q "retention deleted" "$TMP/ret.err"; expect "retention reported" 0 $?

done_tests
