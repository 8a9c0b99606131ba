#!/usr/bin/env bash
# End to end checks of `beaconwatch serve` (docs/api.md): a store built
# from the real logs in ../shared/data (Stratosphere 008 with every rule,
# RITA proxy_rolling with sentinel) plus a generated ECS day (many hosts,
# so the "Other" series exists); the real server on an ephemeral loopback
# port; every endpoint's numbers against values computed independently
# with the sqlite3 CLI and jq; then tokens, caps, methods, content types,
# gzip, ETag/304, HEAD, the embedded pages, and cache invalidation after a
# new `detect --store`.
# Usage: bash tests/cli/serve.sh path/to/beaconwatch
set -u
# shellcheck source=lib.inc
. "$(dirname "$0")/lib.inc"
need_shared
SRC=${BW_SRC:-$(dirname "$0")/../..}
for t in curl jq sqlite3 gzip; do
  if ! command -v $t >/dev/null; then
    [ -n "${CI:-}" ] && { echo "FAIL: $t missing and CI is set"; exit 1; }
    echo "skip: $t missing (make deps)"; exit 77
  fi
done
D=$SHARED/data
DB=$TMP/s.db
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT

CESNET=(--group-by src_dst_port --internal 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,147.32.0.0/16)
"$BW" detect -q -o ndjson --rule all "${CESNET[@]}" --store "$DB" \
  "$D/stratosphere/008-zeek-mixed/data/conn.log.labeled" >/dev/null
"$BW" detect -q -o ndjson --rule sentinel --start 0 --end 2100-01-01T00:00:00Z --store "$DB" \
  "$D/rita/proxy_rolling" >/dev/null
"$BW" generate -f ecs -n 200k --hours 8 --seed 7 -o "$TMP/ecs.ndjson" 2>/dev/null
"$BW" detect -q -o ndjson --rule all --store "$DB" "$TMP/ecs.ndjson" >/dev/null
sql() { sqlite3 -batch -noheader "$DB" "$@"; }
expect "store holds three rules" "beaconwatch elastic sentinel" "$(sql "SELECT group_concat(rule, ' ') FROM (SELECT DISTINCT rule FROM findings_v1 ORDER BY rule)")"

# start_server OUTFILE ARGS...: starts serve, waits for its "listening"
# line, sets SPORT to its port.
start_server() {
  local out=$1; shift
  "$BW" serve --store "$DB" "$@" >"$out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do grep -q '^listening on' "$out" && break; sleep 0.05; done
  SPORT=$(sed -n 's#^listening on http://.*:\([0-9]*\)/$#\1#p' "$out")
}
start_server "$TMP/srv.out" --listen 127.0.0.1:0 --threads 2
PORT=$SPORT
[ -n "$PORT" ] || { echo "FAIL server did not start: $(cat "$TMP/srv.out")"; exit 1; }
U=http://127.0.0.1:$PORT
# get PATH [curl args]: body to $TMP/b, headers to $TMP/h, prints the status.
get() { local p=$1; shift; : >"$TMP/b"; curl -s --max-time 20 -o "$TMP/b" -D "$TMP/h" -w '%{http_code}' "$@" "$U$p"; }
hdr() { grep -i "^$1:" "$TMP/h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
j() { jq -c "$@" "$TMP/b"; }

# --- health, meta
expect "healthz" 200 "$(get /healthz)"
expect "healthz body" ok "$(cat "$TMP/b")"
expect "healthz type" "text/plain; charset=utf-8" "$(hdr Content-Type)"
expect "meta" 200 "$(get /api/meta)"
expect "meta type" "application/json; charset=utf-8" "$(hdr Content-Type)"
"$BW" findings --store "$DB" -o ndjson >"$TMP/all.ndjson"
expect "meta findings = findings -o ndjson" "$(wc -l <"$TMP/all.ndjson")" "$(j .findings)"
expect "meta per rule" "$(sql "SELECT group_concat(rule || '=' || n, ' ') FROM (SELECT rule, count(*) n FROM findings_v1 GROUP BY rule ORDER BY rule)")" \
  "$(j -r '[.rules[] | "\(.rule)=\(.findings)"] | join(" ")')"
NEWEST=$(sql "SELECT max(ts_us) / 1000 FROM findings_v1")
expect "meta last = newest finding" "$NEWEST" "$(j .last)"
expect "meta first" "$(sql "SELECT min(ts_us) / 1000 FROM findings_v1")" "$(j .first)"
expect "meta last_run" "$(sql "SELECT run_us / 1000 FROM runs WHERE rule = 'sentinel'")" \
  "$(j '.rules[] | select(.rule == "sentinel") | .last_run')"

# --- main page, whole store (from 0 to 2100)
ALL="from=0&to=4102444800"
ALERT="SELECT * FROM findings_v1 WHERE alert"
expect "top_processes" 200 "$(get "/api/main/top_processes?$ALL")"
expect "top_processes total" "$(sql "SELECT count(*) FROM ($ALERT)")" "$(j .total)"
sql "SELECT process || '=' || n FROM (SELECT process, count(*) n FROM ($ALERT) GROUP BY process ORDER BY n DESC, process LIMIT 20)" >"$TMP/want"
expect "top_processes top 20" "$(cat "$TMP/want")" "$(j -r '.items[:20][] | "\(.process)=\(.findings)"')"
expect "top_processes Other" "$(sql "SELECT coalesce(sum(n), 0) FROM (SELECT count(*) n FROM ($ALERT) GROUP BY process ORDER BY n DESC, process LIMIT -1 OFFSET 20)")" \
  "$(j '.items[] | select(.process == "Other") | .findings')"
expect "top_processes pct" "$(sql "SELECT round(1000.0 * count(*) / (SELECT count(*) FROM ($ALERT))) / 10 FROM ($ALERT) GROUP BY process ORDER BY count(*) DESC, process LIMIT 1")" \
  "$(j '.items[0].pct')"
expect "hosts_affected" 200 "$(get "/api/main/hosts_affected?$ALL")"
sql "SELECT process || ' ' || h || ' ' || n FROM (SELECT process, count(DISTINCT host) h, count(*) n FROM ($ALERT) GROUP BY process ORDER BY h DESC, n DESC, process LIMIT 100)" >"$TMP/want"
expect "hosts_affected rows" "$(cat "$TMP/want")" "$(j -r '.rows[] | "\(.process) \(.hosts) \(.findings)"')"

# top_hosts over the generated day with a 1 h step: every cell against SQL.
F=$(sql "SELECT min(ts_us) FROM findings_v1 WHERE rule = 'elastic' AND host LIKE 'ws-%'")
T=$(sql "SELECT max(ts_us) FROM findings_v1")
FS=$((F / 1000000)); TS=$(((T + 999999) / 1000000))
expect "top_hosts" 200 "$(get "/api/main/top_hosts?from=$FS&to=$TS&step=3600")"
F=$((FS * 1000000)); T=$((TS * 1000000))
INR="SELECT * FROM findings_v1 WHERE alert AND ts_us BETWEEN $F AND $T"
expect "top_hosts steps" "$(( (T - F) / 3600000000 + 1 ))" "$(j '.steps | length')"
expect "top_hosts step" 3600 "$(j .step)"
sql "SELECT host || '=' || n FROM (SELECT host, count(DISTINCT process) n, count(*) c FROM ($INR) GROUP BY host ORDER BY n DESC, c DESC, host LIMIT 20)" >"$TMP/want"
expect "top_hosts ranking" "$(cat "$TMP/want")" "$(j -r '.series[:20][] | "\(.host)=\(.total)"')"
sql "SELECT host || ' ' || b || ' ' || n FROM (SELECT host, (ts_us - $F) / 3600000000 b, count(DISTINCT process) n FROM ($INR) GROUP BY 1, 2) WHERE host IN (SELECT host FROM ($INR) GROUP BY host ORDER BY count(DISTINCT process) DESC, count(*) DESC, host LIMIT 20)" >"$TMP/want"
j -r '.series[:20][] | .host as $h | .counts | to_entries[] | select(.value > 0) | "\($h) \(.key) \(.value)"' | sort >"$TMP/got"
expect "top_hosts cells" "$(sort "$TMP/want" | md5sum)" "$(md5sum <"$TMP/got")"
expect "top_hosts Other per step" "$(sql "SELECT group_concat(n, ',') FROM (SELECT b, sum(n) n FROM (SELECT host, (ts_us - $F) / 3600000000 b, count(DISTINCT process) n FROM ($INR) WHERE host NOT IN (SELECT host FROM ($INR) GROUP BY host ORDER BY count(DISTINCT process) DESC, count(*) DESC, host LIMIT 20) GROUP BY 1, 2) GROUP BY b ORDER BY b)")" \
  "$(j -r '.series[] | select(.host == "Other") | [.counts[] | select(. > 0)] | join(",")')"
expect "top_hosts Other is last" Other "$(j -r '.series[-1].host')"

# Defaults: to = the newest finding, from = to - 6 h (spread: 14 d, 3-day steps).
get /api/main/top_hosts >/dev/null
expect "default to" "$NEWEST" "$(j .to)"
expect "default from" "$((NEWEST - 6 * 3600 * 1000))" "$(j .from)"
expect "default step (range / 48)" 450 "$(j .step)"
expect "spread" 200 "$(get /api/spread)"
expect "spread default from" "$((NEWEST - 14 * 86400 * 1000))" "$(j .from)"
expect "spread default step" 259200 "$(j .step)"
F=$(( (NEWEST - 14 * 86400 * 1000) * 1000 )); T=$((NEWEST * 1000))
SP="SELECT * FROM findings_v1 WHERE alert AND ts_us BETWEEN $F AND $T"
sql "SELECT process || ' ' || b || ' ' || n FROM (SELECT process, (ts_us - $F) / 259200000000 b, count(DISTINCT host) n FROM ($SP) GROUP BY 1, 2) WHERE process IN (SELECT process FROM ($SP) GROUP BY process ORDER BY count(DISTINCT host) DESC, count(*) DESC, process LIMIT 20)" | sort >"$TMP/want"
j -r '.series[] | .process as $p | .hosts | to_entries[] | select(.value > 0) | "\($p) \(.key) \(.value)"' | sort >"$TMP/got"
expect "spread cells" "$(md5sum <"$TMP/want")" "$(md5sum <"$TMP/got")"
expect "spread has no Other" 0 "$(j '[.series[] | select(.process == "Other")] | length')"
expect "steps widened to <= 1000" 200 "$(get "/api/main/top_hosts?$ALL&step=1")"
expect "  steps count" 1 "$(j '(.steps | length) <= 1000 and (.steps | length) > 900' | grep -c true)"

# Free-text filters: case-insensitive substrings.
expect "host filter" 200 "$(get "/api/main/hosts_affected?$ALL&host=WS-001")"
expect "host filter rows" "$(sql "SELECT count(DISTINCT process) FROM ($ALERT) WHERE lower(host) LIKE '%ws-001%'")" "$(j '.rows | length')"
expect "process filter" "$(sql "SELECT count(*) FROM ($ALERT) WHERE lower(process) LIKE '%update%'")" \
  "$(get "/api/main/top_processes?$ALL&process=UpDaTe" >/dev/null; j .total)"
expect "rule filter" "$(sql "SELECT count(*) FROM ($ALERT) WHERE rule = 'sentinel'")" \
  "$(get "/api/main/top_processes?$ALL&rule=sentinel" >/dev/null; j .total)"
expect "rule prefix" "$(sql "SELECT count(*) FROM ($ALERT) WHERE rule LIKE 'sent%'")" \
  "$(get "/api/main/top_processes?$ALL&rule=sent*" >/dev/null; j .total)"
expect "a LIKE pattern is text" 0 "$(get "/api/main/top_processes?$ALL&host=%25" >/dev/null; j .total)"

# --- findings, finding
expect "findings" 200 "$(get "/api/findings?$ALL&limit=1000")"
expect "findings total" "$(sql "SELECT count(*) FROM findings_v1")" "$(j .total)"
expect "findings limit" 1000 "$(j '.rows | length')"
expect "findings sorted by score" "$(sql "SELECT id FROM findings_v1 ORDER BY score DESC, ts_us DESC, rule, id LIMIT 3")" "$(j -r '.rows[:3][].id')"
get "/api/findings?$ALL&limit=2&offset=5&sort=time" >/dev/null
expect "findings sort=time, offset" "$(sql "SELECT id FROM findings_v1 ORDER BY ts_us DESC, score DESC, rule, id LIMIT 2 OFFSET 5")" "$(j -r '.rows[].id')"
get "/api/findings?$ALL&alert=1&rule=elastic&limit=1" >/dev/null
expect "findings alert=1 total" "$(sql "SELECT count(*) FROM ($ALERT) WHERE rule = 'elastic'")" "$(j .total)"
R=$(j '.rows[0]')
ID=$(jq -r .id <<<"$R")
want=$(sql "SELECT json_object('lf', json_extract(doc, '\$.beacon_stats.periodic') = 1, 'hf', json_extract(doc, '\$.beacon_stats.low_count_variation') = 1, 'ts', ts_us / 1000, 'score', score) FROM findings_v1 WHERE rule = 'elastic' AND id = '$ID'")
expect "elastic indicators" "$(jq -c '{lf: (.lf == 1), hf: (.hf == 1), ts, score}' <<<"$want")" \
  "$(jq -c '{lf: .indicators.low_frequency, hf: .indicators.high_frequency, ts, score}' <<<"$R")"
expect "finding" 200 "$(get "/api/finding?rule=elastic&id=$ID")"
expect "finding doc = stored document" "$(sql "SELECT doc FROM findings_v1 WHERE rule = 'elastic' AND id = '$ID'" | jq -cS .)" "$(j -S .doc)"
expect "finding unknown" 404 "$(get "/api/finding?rule=elastic&id=nope")"
expect "finding without id" 400 "$(get "/api/finding?rule=elastic")"
get "/api/findings?$ALL&rule=beaconwatch&alert=1&limit=1" >/dev/null
BID=$(j -r '.rows[0].id')
expect "beaconwatch explanation" "$(sql "SELECT json_extract(doc, '\$.beacon.explanation') FROM findings_v1 WHERE rule = 'beaconwatch' AND id = '$BID'")" "$(j -r '.rows[0].explanation')"
expect "beaconwatch has no indicators" null "$(j '.rows[0].indicators')"

# --- events, group: Stratosphere 008, 147.32.81.167 -> 20.199.120.151:443
H=147.32.81.167; P=20.199.120.151:443
GID="(SELECT gid FROM sample_groups_v1 WHERE key_host = '$H' AND key_process = '$P')"
expect "events" 200 "$(get "/api/events?host=$H&process=$P&limit=5&offset=2")"
expect "events total" "$(sql "SELECT count(*) FROM samples_v1 WHERE gid = $GID")" "$(j .total)"
expect "events page, newest first" "$(sql "SELECT ts_us / 1000 FROM samples_v1 WHERE gid = $GID ORDER BY ts_us DESC LIMIT 5 OFFSET 2")" "$(j -r '.rows[].ts')"
expect "events row fields" "$(sql "SELECT src_bytes || ' ' || dst_bytes || ' ' || conn_state FROM samples_v1 WHERE gid = $GID ORDER BY ts_us DESC LIMIT 1 OFFSET 2")" \
  "$(j -r '.rows[0] | "\(.src_bytes) \(.dst_bytes) \(.conn_state)"')"
expect "events need the group" 400 "$(get "/api/events?host=$H")"
expect "group" 200 "$(get "/api/group?host=$H&process=$P")"
expect "group events" "$(sql "SELECT count(*) FROM samples_v1 WHERE gid = $GID")" "$(j .events)"
expect "group first/last" "$(sql "SELECT (min(ts_us) / 1000) || ' ' || (max(ts_us) / 1000) FROM samples_v1 WHERE gid = $GID")" "$(j -r '"\(.first) \(.last)"')"
expect "group timeline oldest first" "$(sql "SELECT ts_us / 1000 FROM samples_v1 WHERE gid = $GID ORDER BY ts_us")" "$(j -r '.timeline[]')"
expect "group bytes" "$(sql "SELECT (ts_us / 1000) || ',' || src_bytes || ',' || dst_bytes FROM samples_v1 WHERE gid = $GID ORDER BY ts_us")" "$(j -r '.bytes[] | join(",")')"
expect "group histogram counts the gaps" "$(( $(j .events) - 1 ))" "$(j '[.interarrival.bins[].count] | add')"
expect "group period from beaconwatch" "$(sql "SELECT json_extract(doc, '\$.beacon.sleep_s') FROM findings_v1 WHERE rule = 'beaconwatch' AND host = '$H' AND process = '$P' ORDER BY ts_us DESC LIMIT 1") beaconwatch" \
  "$(j -r '"\(.interarrival.period) \(.interarrival.period_rule)"')"
expect "group destinations" "$(sql "SELECT dst_ip || ' ' || dst_port || ' ' || count(*) || ' ' || sum(src_bytes + dst_bytes) FROM samples_v1 WHERE gid = $GID GROUP BY dst_ip, dst_port")" \
  "$(j -r '.destinations[] | "\(.ip) \(.port) \(.count) \(.bytes)"')"
expect "group verdicts" "elastic:true:$(sql "SELECT id FROM findings_v1 WHERE rule = 'elastic' AND host = '$H' AND process = '$P' ORDER BY ts_us DESC LIMIT 1") sentinel:false: beaconwatch:true:$(sql "SELECT id FROM findings_v1 WHERE rule = 'beaconwatch' AND host = '$H' AND process = '$P' ORDER BY ts_us DESC LIMIT 1")" \
  "$(j -r '[.verdicts[] | "\(.rule):\(.found):\(.id // "")"] | join(" ")')"
# Sentinel's verdict on its own key (RITA SSDP).
get "/api/group?host=10.0.0.11&process=239.255.255.250:1900" >/dev/null
expect "sentinel verdict" "true $(sql "SELECT id FROM findings_v1 WHERE rule = 'sentinel' AND host = '10.0.0.11' ORDER BY ts_us DESC LIMIT 1")" \
  "$(j -r '.verdicts[1] | "\(.found) \(.id)"')"
# A (host, process) group that beaconwatch did not judge under that key,
# whose records all go to one IP pair that it did judge: the verdict comes
# through that pair.
read -r KH KP BH BP < <(sql -separator ' ' "SELECT g.key_host, g.key_process, s.src_ip, s.dst_ip || ':' || s.dst_port FROM sample_groups_v1 g JOIN samples_v1 s ON s.gid = g.gid WHERE g.key_host NOT LIKE '%.%' AND s.dst_ip LIKE '%.%' AND NOT EXISTS (SELECT 1 FROM findings_v1 k WHERE k.rule = 'beaconwatch' AND k.host = g.key_host AND k.process = g.key_process) GROUP BY g.gid HAVING count(DISTINCT s.src_ip || ' ' || s.dst_ip || ':' || s.dst_port) = 1 AND EXISTS (SELECT 1 FROM findings_v1 f WHERE f.rule = 'beaconwatch' AND f.host = s.src_ip AND f.process = s.dst_ip || ':' || s.dst_port) ORDER BY g.gid LIMIT 1")
if [ -n "$KH" ]; then
  get "/api/group?host=$KH&process=$KP" >/dev/null
  expect "beaconwatch verdict through the group's IP pair" "$(sql "SELECT id FROM findings_v1 WHERE rule = 'beaconwatch' AND host = '$BH' AND process = '$BP' ORDER BY ts_us DESC LIMIT 1")" \
    "$(j -r '.verdicts[2].id')"
  expect "  no elastic finding on it? then found=false" "$(sql "SELECT count(*) > 0 FROM findings_v1 WHERE rule = 'elastic' AND host = '$KH' AND process = '$KP'")" \
    "$(j -r 'if .verdicts[0].found then 1 else 0 end')"
else
  expect "a host/process group behind a judged IP pair exists" found none
fi
# When the rule has a finding under the group's own key, that one wins.
read -r KH KP < <(sql -separator ' ' "SELECT f.host, f.process FROM findings_v1 f JOIN sample_groups_v1 g ON g.key_host = f.host AND g.key_process = f.process WHERE f.rule = 'beaconwatch' AND f.host NOT LIKE '%.%' ORDER BY f.id LIMIT 1")
get "/api/group?host=$KH&process=$KP" >/dev/null
expect "beaconwatch verdict on the group's own key" "$(sql "SELECT id FROM findings_v1 WHERE rule = 'beaconwatch' AND host = '$KH' AND process = '$KP' ORDER BY ts_us DESC LIMIT 1")" \
  "$(j -r '.verdicts[2].id')"

# --- pages and the charting library, compiled in
expect "/" 200 "$(get /)"
expect "/ type" "text/html; charset=utf-8" "$(hdr Content-Type)"
expect "/ is index.html" "$(md5sum <"$SRC/web/public/index.html")" "$(md5sum <"$TMP/b")"
while IFS= read -r f; do
  n=${f#"$SRC/web/public"}
  expect "page $n" "$(md5sum <"$f")" "$(get "$n" >/dev/null; md5sum <"$TMP/b")"
done < <(find "$SRC/web/public" -type f ! -name '.*' | sort)
expect "js type" "text/javascript; charset=utf-8" "$(get /vendor/echarts.min.js >/dev/null; hdr Content-Type)"
expect "vendor echarts" "$(md5sum <"$SRC/web/node_modules/echarts/dist/echarts.min.js")" "$(md5sum <"$TMP/b")"
expect "vendor gzip" gzip "$(get /vendor/echarts.min.js -H 'Accept-Encoding: gzip' >/dev/null; hdr Content-Encoding)"
expect "vendor gzip body" "$(md5sum <"$SRC/web/node_modules/echarts/dist/echarts.min.js")" "$(gzip -dc "$TMP/b" | md5sum)"
ET=$(get /index.html >/dev/null; hdr ETag)
expect "page ETag -> 304" 304 "$(get /index.html -H "If-None-Match: $ET")"
expect "page no-cache" no-cache "$(hdr Cache-Control)"
expect "unknown path" 404 "$(get /nope.html)"
expect "unknown endpoint" 404 "$(get /api/nope)"
expect "404 is JSON" '"not found"' "$(get /nope.html >/dev/null; j .error)"

# --- HTTP: methods, HEAD, gzip, ETag, caps
expect "POST" 405 "$(get /api/meta -X POST -d x=1)"
expect "POST Allow" "GET, HEAD" "$(hdr Allow)"
expect "DELETE" 405 "$(get /index.html -X DELETE)"
expect "GET with a body" 413 "$(get /api/meta -X GET -d x=1)"
expect "HEAD" 200 "$(get "/api/findings?$ALL" -I)"
# What comes back on the wire for HEAD: headers only.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'HEAD /api/findings?%s HTTP/1.0\r\nHost: x\r\n\r\n' "$ALL" >&3
raw=$(cat <&3); exec 3<&-
expect "HEAD sends no body" "" "$(sed '1,/^\r$/d' <<<"$raw")"
expect "HEAD length" "$(get "/api/findings?$ALL" >/dev/null; wc -c <"$TMP/b")" \
  "$(get "/api/findings?$ALL" -I >/dev/null; hdr Content-Length)"
get "/api/findings?$ALL" >/dev/null; cp "$TMP/b" "$TMP/plain"
expect "gzip when accepted" gzip "$(get "/api/findings?$ALL" -H 'Accept-Encoding: gzip, br' >/dev/null; hdr Content-Encoding)"
expect "gzip body" "$(md5sum <"$TMP/plain")" "$(gzip -dc "$TMP/b" | md5sum)"
expect "no gzip at q=0" "" "$(get "/api/findings?$ALL" -H 'Accept-Encoding: gzip;q=0' >/dev/null; hdr Content-Encoding)"
ET=$(get "/api/findings?$ALL" >/dev/null; hdr ETag)
expect "API ETag" 1 "$(grep -c '^"[0-9a-f]\{16\}"$' <<<"$ET")"
expect "API If-None-Match -> 304" 304 "$(get "/api/findings?$ALL" -H "If-None-Match: $ET")"
expect "304 has no body" 0 "$(wc -c <"$TMP/b")"
expect "other query, other tag" 200 "$(get "/api/findings?$ALL&limit=3" -H "If-None-Match: $ET")"
long=$(printf 'a%.0s' $(seq 4100))
expect "URL over 4 KiB" 414 "$(get "/api/findings?host=$long")"
v257=$(printf 'b%.0s' $(seq 257))
expect "value over 256 bytes" 400 "$(get "/api/findings?host=$v257")"
expect "  names the parameter" 1 "$(j -r .error | grep -c "'host'")"
many="from=0&to=1&host=a&process=b&rule=c&step=1&alert=0&limit=1&offset=0&sort=time&id=x"
expect "repeated parameter" 400 "$(get "/api/findings?$many&host=c")"
q17=$(for i in $(seq 17); do printf '&&x%d=1' "$i"; done)
expect "17 parameters" 400 "$(get "/api/findings?$q17")"
expect "unknown parameter" 400 "$(get "/api/findings?colour=red")"
expect "limit over 1000" 400 "$(get "/api/findings?limit=1001")"
expect "offset over 1,000,000" 400 "$(get "/api/findings?offset=1000001")"
expect "bad time" 400 "$(get "/api/findings?from=yesterday")"
expect "  names it" '"bad time: parameter '"'from'"'"' "$(j .error)"
expect "from after to" 400 "$(get "/api/findings?from=20&to=10")"
expect "bad rule" 400 "$(get "/api/findings?rule=a%5B")"
expect "RFC 3339 from/to" "$(sql "SELECT count(*) FROM findings_v1 WHERE ts_us BETWEEN 1655100000000000 AND 1655200000000000")" \
  "$(get "/api/findings?from=2022-06-13T06:00:00Z&to=2022-06-14T09:46:40Z&limit=0" >/dev/null; j .total)"

# --- the cache follows the store: a new detect --store changes the answers
get "/api/findings?$ALL&limit=0" >/dev/null
before=$(j .total); ET=$(hdr ETag)
"$BW" detect -q -o ndjson --rule elastic "${CESNET[@]}" --now 2022-06-13T12:00:00Z --store "$DB" \
  "$D/stratosphere/008-zeek-mixed/data/conn.log.labeled" >/dev/null
expect "stale ETag -> 200 after a write" 200 "$(get "/api/findings?$ALL&limit=0" -H "If-None-Match: $ET")"
expect "cache sees the new findings" "$(sql "SELECT count(*) FROM findings_v1")" "$(j .total)"
[ "$(j .total)" -gt "$before" ] && expect "store grew" 1 1 || expect "store grew" ">$before" "$(j .total)"
expect "meta sees them" "$(sql "SELECT count(*) FROM findings_v1")" "$(get /api/meta >/dev/null; j .findings)"

# --- token and listen address
expect_rc "non-loopback without --token" 2 "$BW" serve --store "$DB" --listen 0.0.0.0:0
expect "  says why" 1 "$(grep -c 'not a loopback address' "$TMP/err")"
expect_rc "bad --listen" 2 "$BW" serve --store "$DB" --listen nowhere
expect_rc "missing store" 1 "$BW" serve --store "$TMP/none.db" --listen 127.0.0.1:0
expect_rc "serve --help" 0 "$BW" serve --help
start_server "$TMP/srv2.out" --listen 127.0.0.1:0 --token s3cret --threads 1
U=http://127.0.0.1:$SPORT
expect "no token" 401 "$(get /api/meta)"
expect "wrong token" 401 "$(get /api/meta -H 'Authorization: Bearer s3cre')"
expect "token in another scheme" 401 "$(get /api/meta -H 'Authorization: Basic s3cret')"
expect "right token" 200 "$(get /api/meta -H 'Authorization: Bearer s3cret')"
expect "pages need no token" 200 "$(get /)"
expect "healthz needs no token" 200 "$(get /healthz)"
U=http://127.0.0.1:$PORT
expect "server still up" 200 "$(get /healthz)"
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}"; rc=$?
expect "SIGTERM stops with 0" 0 "$rc"
done_tests
