#!/usr/bin/env bash
# Browser test of the three dashboards: builds a store from the real
# captures in ../shared/data (plus a generated workplace for host/process
# groups over several days), starts `beaconwatch serve` on an ephemeral
# loopback port, and drives Debian's chromium through playwright-core
# (tests/browser/dashboards.mjs). Skips (77) without ../shared, chromium,
# node or web/node_modules; fails instead when CI is set.
# usage: run.sh path/to/beaconwatch   (BW_SHOTS=DIR for the screenshots,
# BW_KEEP=1 keeps the temp dir with the store)
set -u
BW=$(realpath "${1:?usage: run.sh path/to/beaconwatch}")
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${BW_SRC:-$(cd "$HERE/../.." && pwd)}
SHARED=${BW_SHARED:-$SRC/../shared}
CHROMIUM=${BW_CHROMIUM:-/usr/bin/chromium}

skip() {
  if [ -n "${CI:-}" ]; then echo "FAIL: $1 and CI is set"; exit 1; fi
  echo "skip: $1"; exit 77
}
[ -d "$SHARED/data/stratosphere" ] || skip "$SHARED/data is absent"
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is absent (apt-get install chromium)"
command -v node >/dev/null || skip "node is absent"
[ -d "$SRC/web/node_modules/playwright-core" ] || skip "web/node_modules is absent (npm ci in web/)"
command -v sqlite3 >/dev/null || skip "sqlite3 is absent"

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  if [ -n "${BW_KEEP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

DB=$TMP/dash.db
D=$SHARED/data/stratosphere
det() { "$BW" detect -q --store "$DB" "$@" >/dev/null || { echo "FAIL: detect $*"; exit 1; }; }
t0=$(date +%s%N)

# Real captures (docs/real-data.md): the Stratosphere days, grouped by
# source and destination:port, CESNET's range as the internal side. The
# elastic transform runs hourly over the last 6 h, so day 008 gets one run
# per hour (a history of findings, like a deployment); the other days one
# run of every rule at their end.
CESNET=(--group-by src_dst_port --internal 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,147.32.0.0/16)
day008=$D/008-zeek-mixed/data/conn.log.labeled
start=$(awk '!/^#/ {print int($1); exit}' "$day008")
for h in $(seq 1 24); do
  det --rule elastic "${CESNET[@]}" --now $((start + h * 3600)) "$day008"
done
for d in 008 010 011 012; do
  det --rule all "${CESNET[@]}" "$D/$d-zeek-mixed/data/conn.log.labeled"
done

# Generated workplace logs (ECS, with host and process names): three days
# a few days apart with different seeds, so processes reach more hosts
# over time (the spread page), the last one ending after the real
# captures with hourly elastic runs over its last 6 hours (the main page's
# default window).
gen() { "$BW" generate -f ecs -n "$1" --hosts "$2" --hours 24 --seed "$3" --start "$4" -o "$5" >/dev/null ||
          { echo "FAIL: generate"; exit 1; }; }
gen 150k 40 11 2022-06-16T00:00:00Z "$TMP/g1.ndjson"
gen 150k 60 12 2022-06-19T00:00:00Z "$TMP/g2.ndjson"
gen 200k 80 13 2022-06-23T00:00:00Z "$TMP/g3.ndjson"
det --rule all "$TMP/g1.ndjson"
det --rule all "$TMP/g2.ndjson"
for h in 19 20 21 22 23; do det --rule elastic --now 2022-06-23T$h:00:00Z "$TMP/g3.ndjson"; done
det --rule all "$TMP/g3.ndjson"
# A host whose name and process names are HTML (log fields are attacker
# controlled): three periodic processes over the last hours, so it is among
# the top hosts and processes and the pages must show the text, never run it.
HOSTILE_HOST='<img src=x onerror=window.__xss=1>'
(export TZ=UTC
 for i in $(seq 0 299); do
   t=$((1655996400 + i * 60))   # 2022-06-23T15:00:00Z, one per minute
   for p in 1 2 3; do
     case $p in 1) pn='<svg/onload=window.__xss=2>' ;; 2) pn='</script><b>p2</b>' ;; 3) pn='&lt;i&gt;p3' ;; esac
     printf '{"@timestamp":"%(%Y-%m-%dT%H:%M:%S)T.%03dZ","event":{"kind":"event","category":["network"],"type":["end"],'`
           `'"action":"disconnect_received","dataset":"endpoint.events.network"},"host":{"name":"%s"},"process":{"name":"%s"},'`
           `'"source":{"ip":"10.66.0.%d","port":%d,"bytes":300},"destination":{"ip":"45.77.10.%d","port":443,"bytes":700},'`
           `'"network":{"transport":"tcp","type":"ipv4","direction":"egress"}}\n' \
       $((t + p)) $((p * 7)) "$HOSTILE_HOST" "$pn" $p $((40000 + i)) $p
   done
 done) > "$TMP/hostile.ndjson"
det --rule elastic --now 2022-06-23T20:10:00Z "$TMP/hostile.ndjson"
rm -f "$TMP"/g?.ndjson "$TMP/hostile.ndjson"

printf 'store: %s findings (%s flagged) in %d ms\n' "$(sqlite3 "$DB" 'select count(*) from ml_beaconing_all')" \
  "$(sqlite3 "$DB" 'select count(*) from ml_beaconing_all where alert')" $((($(date +%s%N) - t0) / 1000000))
[ -n "${BW_STORE_ONLY:-}" ] && { cp "$DB" "$BW_STORE_ONLY"; exit 0; }

# The server on a free loopback port, with a token (the pages must pass it).
TOKEN=bw-test-$RANDOM$RANDOM
"$BW" serve --store "$DB" --listen 127.0.0.1:0 --token "$TOKEN" >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER_PID=$!
URL=
for _ in $(seq 1 100); do
  URL=$(sed -n 's#^listening on \(http://[^/]*\)/$#\1#p' "$TMP/serve.out")
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "FAIL: serve exited: $(cat "$TMP/serve.err")"; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "FAIL: serve did not report its address"; exit 1; }
echo "server: $URL (pid $SERVER_PID)"

# Screenshots outlive the run: by default in the working directory (the
# build directory under ctest).
SHOTS=${BW_SHOTS:-$PWD/browser-screenshots}
BW_URL=$URL BW_DB=$DB BW_TOKEN=$TOKEN BW_SHOTS=$SHOTS BW_CHROMIUM=$CHROMIUM \
  node "$HERE/dashboards.mjs"
rc=$?
if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "FAIL: the server died during the test"; rc=1; fi
exit $rc
