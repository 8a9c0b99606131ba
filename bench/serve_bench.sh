#!/usr/bin/env bash
# Dashboard API latency and throughput (`beaconwatch serve`, docs/api.md).
#
# 1. Store: BW_BENCH_DAYS (10) generated Zeek days of BW_BENCH_RECORDS / DAYS
#    records each (2,000 hosts, a different seed per day), each through
#    `detect --rule all --group-by src_dst_port --store`: every rule's
#    findings of that day and the drilldown sample (every record of a day
#    is sampled: a run samples at most 1 M). 10 M records give about
#    100,000 findings and 10 M sampled records over ten days. Cached in
#    bench/data/ by its parameters.
# 2. Cold: every URL of every endpoint once, one at a time, with curl, on a
#    fresh server (nothing cached): p50 / p95 / max per endpoint.
# 3. Warm: then, on the same server, wrk, 50 connections, BW_BENCH_SECONDS
#    per endpoint, a Lua script rotating through that endpoint's URLs
#    (different time ranges, hosts, processes, groups, pages): p50 / p95 /
#    p99 latency and requests/s of the cached answers.
#
# Usage: bash bench/serve_bench.sh [path/to/beaconwatch]   (make bench-serve)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BW=$(realpath "${1:-$here/../build/beaconwatch}")
RECORDS=${BW_BENCH_RECORDS:-10000000}
DAYS=${BW_BENCH_DAYS:-10}
HOSTS=${BW_BENCH_HOSTS:-2000}
SECONDS_PER=${BW_BENCH_SECONDS:-10}
CONNS=${BW_BENCH_CONNS:-50}
DIR=${BW_BENCH_DIR:-$here/data}
for t in wrk curl sqlite3 jq; do
  command -v $t >/dev/null || { echo "serve_bench: $t missing (make deps)" >&2; exit 1; }
done
mkdir -p "$DIR"
DB=$DIR/serve-$RECORDS-$DAYS-$HOSTS.db
tmp=$(mktemp -d)
SRV=
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf "$tmp"' EXIT
sql() { sqlite3 -batch -noheader "$DB" "$@"; }

if [ ! -s "$DB" ]; then
  rm -f "$DB.tmp"*
  for d in $(seq 1 "$DAYS"); do
    day=$(date -u -d "2026-01-01T00:00:00Z + $((d - 1)) days" +%Y-%m-%dT%H:%M:%SZ)
    echo "day $d ($day): generate $((RECORDS / DAYS)) records, detect --rule all --store" >&2
    "$BW" generate -f zeek -n $((RECORDS / DAYS)) --hosts "$HOSTS" --hours 24 --start "$day" \
      --seed $((20260100 + d)) -o "$tmp/day.log"
    "$BW" detect -q --rule all --group-by src_dst_port --store "$DB.tmp" -o ndjson "$tmp/day.log" >/dev/null
  done
  rm -f "$tmp/day.log"
  sqlite3 "$DB.tmp" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
  mv "$DB.tmp" "$DB"
  rm -f "$DB.tmp-wal" "$DB.tmp-shm"
fi
# A writable open brings a cached store's indexes up to this build (an
# empty sentinel run: it adds no findings).
"$BW" detect -q --rule sentinel --store "$DB" - </dev/null >/dev/null
NF=$(sql 'SELECT count(*) FROM findings_v1')
NS=$(sql 'SELECT count(*) FROM samples_v1')
NG=$(sql 'SELECT count(*) FROM sample_groups_v1')
echo "store: $DB  $(du -m "$DB" | cut -f1) MB, $NF findings, $NS sampled records in $NG groups"

# --- URLs: realistic variety per endpoint (time windows, filters, groups)
NEWEST=$(sql 'SELECT max(ts_us) / 1000000 FROM findings_v1')
OLDEST=$(sql 'SELECT min(ts_us) / 1000000 FROM findings_v1')
mapfile -t HOSTSL < <(sql 'SELECT host FROM findings_v1 WHERE alert GROUP BY host ORDER BY count(*) DESC LIMIT 20')
mapfile -t PROCS < <(sql 'SELECT process FROM findings_v1 WHERE alert GROUP BY process ORDER BY count(*) DESC LIMIT 20')
mapfile -t GRPS < <(sql "SELECT key_host || '&process=' || key_process FROM sample_groups_v1 ORDER BY gid % 97, gid LIMIT 40")
mapfile -t IDS < <(sql "SELECT 'rule=' || rule || '&id=' || id FROM findings_v1 ORDER BY id LIMIT 40")
enc() { jq -rn --arg v "$1" '$v | @uri'; }
windows() { # the default, 6 h before each day's run, and 1, 3 and 10 days
  echo ""
  for k in $(seq 0 9); do
    to=$((NEWEST - k * 86400)); echo "from=$((to - 21600))&to=$to&"
  done
  for d in 1 3 10; do echo "from=$((NEWEST - d * 86400))&to=$NEWEST&"; done
}
: >"$tmp/all"
for ep in main/top_hosts main/top_processes main/hosts_affected spread findings events group finding meta; do
  f=$tmp/$(tr / _ <<<"$ep").urls
  case $ep in
    main/*|findings)
      while read -r w; do
        echo "/api/$ep?${w}"
        echo "/api/$ep?${w}host=$(enc "${HOSTSL[$((RANDOM % ${#HOSTSL[@]}))]:0:6}")"
        echo "/api/$ep?${w}process=$(enc "${PROCS[$((RANDOM % ${#PROCS[@]}))]:0:5}")"
        echo "/api/$ep?${w}rule=elastic"
      done < <(windows) >"$f"
      [ "$ep" = findings ] && sed -i 's/$/\&limit=100\&offset=0/' "$f" &&
        for o in 100 500 1000; do echo "/api/findings?from=$OLDEST&to=$NEWEST&limit=100&offset=$o&sort=time"; done >>"$f"
      ;;
    spread)
      { echo "/api/spread?"; echo "/api/spread?from=$OLDEST&to=$NEWEST";
        for p in "${PROCS[@]:0:10}"; do echo "/api/spread?process=$(enc "${p:0:5}")"; done
        for h in "${HOSTSL[@]:0:10}"; do echo "/api/spread?host=$(enc "$h")&step=3600"; done; } >"$f" ;;
    events) for g in "${GRPS[@]}"; do for o in 0 100; do echo "/api/events?host=$g&limit=100&offset=$o"; done; done >"$f" ;;
    group) for g in "${GRPS[@]}"; do echo "/api/group?host=$g"; done >"$f" ;;
    finding) for i in "${IDS[@]}"; do echo "/api/finding?$i"; done >"$f" ;;
    meta) echo "/api/meta" >"$f" ;;
  esac
  cat "$f" >>"$tmp/all"
done

start() {
  "$BW" serve --store "$DB" --listen 127.0.0.1:0 >"$tmp/srv.out" 2>&1 &
  SRV=$!
  for _ in $(seq 100); do grep -q '^listening' "$tmp/srv.out" && break; sleep 0.05; done
  PORT=$(sed -n 's#^listening on http://.*:\([0-9]*\)/$#\1#p' "$tmp/srv.out")
  [ -n "$PORT" ] || { cat "$tmp/srv.out"; exit 1; }
}
stop() { kill "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=; }

# --- cold: every URL once, nothing cached
start
printf '\ncold (each URL once, uncached, sequential)\n%-26s %5s %9s %9s %9s %7s\n' endpoint urls "p50 ms" "p95 ms" "max ms" errors
for f in "$tmp"/*.urls; do
  ep=$(basename "$f" .urls)
  : >"$tmp/t"; err=0
  while read -r u; do
    out=$(curl -g -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{http_code} %{time_total}' "http://127.0.0.1:$PORT$u")
    [ "${out%% *}" = 200 ] || err=$((err + 1))
    echo "${out#* }" >>"$tmp/t"
  done <"$f"
  sort -n "$tmp/t" | awk -v ep="$ep" -v err=$err '{a[NR]=$1} END {
    p50=a[int((NR-1)*0.50)+1]; p95=a[int((NR-1)*0.95)+1];
    printf "%-26s %5d %9.1f %9.1f %9.1f %7d\n", ep, NR, p50*1000, p95*1000, a[NR]*1000, err }'
done

# --- warm: wrk per endpoint, same server (every URL has been asked once)
cat >"$tmp/rotate.lua" <<'EOF'
local urls, i = {}, 0
local file = os.getenv("BW_URLS")
for line in io.lines(file) do urls[#urls + 1] = line end
wrk.headers["Accept-Encoding"] = "gzip"
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i])
end
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("RESULT %d %.1f %.2f %.2f %.2f %d\n", summary.requests,
    summary.requests / s, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF
printf '\nwarm (wrk, %d connections, %d s per endpoint, URLs rotated)\n%-26s %9s %9s %9s %9s %10s %7s\n' \
  "$CONNS" "$SECONDS_PER" endpoint req/s "p50 ms" "p95 ms" "p99 ms" requests errors
for f in "$tmp"/*.urls; do
  ep=$(basename "$f" .urls)
  r=$(BW_URLS=$f wrk -t2 -c"$CONNS" -d"${SECONDS_PER}s" --timeout 10s -s "$tmp/rotate.lua" \
      "http://127.0.0.1:$PORT" | grep '^RESULT')
  read -r _ n rps p50 p95 p99 errs <<<"$r"
  printf '%-26s %9s %9s %9s %9s %10s %7s\n' "$ep" "$rps" "$p50" "$p95" "$p99" "$n" "$errs"
done
stop
