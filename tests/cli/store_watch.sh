#!/usr/bin/env bash
# `watch` crash safety: a Zeek log grows in chunks (with half-written last
# lines) and rotates (rename-and-create, and one copy-and-truncate of the
# live file); one store is built by an uninterrupted watcher, another by a
# watcher that is SIGKILLed at random moments and restarted after every
# step. Both stores must hold the same findings and run times — none
# missing, none twice — and those must match a one-shot `detect` at the
# same hour. Also: SIGTERM exits 0 between cycles, stdin is refused.
# Usage: bash tests/cli/store_watch.sh path/to/beaconwatch
set -u
# shellcheck source=lib.inc
. "$(dirname "$0")/lib.inc"
if ! "$BW" watch --help >/dev/null 2>&1; then echo "skip: no watch in this build"; exit 77; fi
command -v jq >/dev/null || { echo "skip: jq missing"; exit 77; }
KILLS=${BW_WATCH_KILLS:-40}
RANDOM=${BW_WATCH_SEED:-4242}
OPTS=(--clock data --settle 0 -r all --set elastic.group_by=src_dst_port -q)

expect_rc "watch --help" 0 "$BW" watch --help
expect_rc "watch: stdin refused" 2 "$BW" watch --store "$TMP/x.db" -
expect_rc "watch: bad clock" 2 "$BW" watch --clock moon "$TMP"
expect_rc "watch: missing input" 1 "$BW" watch --store "$TMP/x.db" "$TMP/nope"

"$BW" generate -f zeek -n 40k --hours 80 --hosts 10 --seed 5 -o "$TMP/full.log" 2>/dev/null
grep '^#' "$TMP/full.log" | grep -v '^#close' >"$TMP/header"
grep -v '^#' "$TMP/full.log" >"$TMP/body"
lines=$(wc -l <"$TMP/body")
STEPS=10
per=$(( (lines + STEPS - 1) / STEPS ))
split -l "$per" -d -a 2 "$TMP/body" "$TMP/chunk."

# The file operations of step i on directory $1/logs.
step() {
  local d=$1/logs i=$2 c
  c=$(printf '%s/chunk.%02d' "$TMP" "$i")
  mkdir -p "$d"
  if [ "$3" = half ] && { [ "$i" -eq 4 ] || [ "$i" -eq 7 ]; }; then  # rename-and-create
    mv "$d/conn.log" "$d/conn.$i.log"
  fi
  if [ "$3" = half ] && [ "$i" -eq 9 ]; then       # copy-and-truncate (logrotate)
    cp "$d/conn.log" "$d/conn.log.1"; : >"$d/conn.log"
  fi
  [ -s "$d/conn.log" ] || cat "$TMP/header" >"$d/conn.log"
  case $3 in
    half) head -c $(( $(wc -c <"$c") / 2 )) "$c" >>"$d/conn.log" ;;   # ends mid-line
    rest) tail -c +$(( $(wc -c <"$c") / 2 + 1 )) "$c" >>"$d/conn.log" ;;
  esac
}

clean=$TMP/clean; crash=$TMP/crash
for i in $(seq 0 $((STEPS - 1))); do
  for part in half rest; do
    step "$clean" "$i" $part
    "$BW" watch --once "${OPTS[@]}" --store "$clean/s.db" "$clean/logs" || echo "FAIL clean run $i"
  done
done

kills=0; runs=0
for i in $(seq 0 $((STEPS - 1))); do
  for part in half rest; do
    step "$crash" "$i" $part
    # Restart after every kill until one cycle completes.
    for try in $(seq 1 30); do
      runs=$((runs + 1))
      if [ "$try" -lt 30 ] && [ "$kills" -lt "$KILLS" ]; then
        ms=$(( RANDOM % 120 + 1 ))
        timeout -s KILL "$(printf '0.%03d' "$ms")" \
          "$BW" watch --once "${OPTS[@]}" --store "$crash/s.db" "$crash/logs"
      else
        "$BW" watch --once "${OPTS[@]}" --store "$crash/s.db" "$crash/logs"
      fi
      rc=$?
      [ $rc -eq 137 ] && { kills=$((kills + 1)); continue; }
      [ $rc -eq 0 ] && break
      echo "FAIL crash run $i: exit $rc"; break
    done
  done
done
echo "info: $runs watcher starts, $kills killed by SIGKILL"
[ "$kills" -ge 5 ] && expect "watcher was killed mid-cycle" 1 1 || expect "kills" ">=5" "$kills"

dump() { "$BW" findings --store "$1/s.db" -o ndjson | jq -cS . | sort; }
dump "$clean" >"$TMP/clean.nd"; dump "$crash" >"$TMP/crash.nd"
nf=$(wc -l <"$TMP/clean.nd")
[ "$nf" -gt 100 ] && expect "findings written" 1 1 || expect "findings written" ">100" "$nf"
expect "crash store == clean store (findings)" "$(md5sum <"$TMP/clean.nd")" "$(md5sum <"$TMP/crash.nd")"
# Every segment once: the stores hold the same byte ranges.
segs() { "$BW" status --store "$1/s.db" -o json | jq -c '[.findings, .sampled_records, .files_followed]'; }
expect "same sample and files" "$(segs "$clean")" "$(segs "$crash")"
expect "no finding twice" 0 "$("$BW" findings --store "$crash/s.db" -o ndjson | jq -r '"\(.["@timestamp"] // .TimeGenerated) \(.host.name // .SrcIpAddr) \(.process.name // .DstIpAddr) \(.DstPortNumber) \(.group // "" | tostring)"' | sort | uniq -d | wc -l)"
runs_of() { "$BW" status --store "$1/s.db" -o json | jq -c '[.rules[] | {rule, last_run_now, findings}]'; }
alerts_of() { "$BW" alerts --list --store "$1/s.db" -o ndjson | jq -c 'del(."@timestamp")' | sort | md5sum; }
na=$("$BW" alerts --list --store "$clean/s.db" -o ndjson | wc -l)
[ "$na" -gt 0 ] && expect "watch raised alerts" 1 1 || expect "watch raised alerts" ">0" "$na"
expect "same alerts" "$(alerts_of "$clean")" "$(alerts_of "$crash")"
expect "same run times" "$(runs_of "$clean")" "$(runs_of "$crash")"
expect "sentinel ran and found" 1 "$("$BW" findings --store "$clean/s.db" -r sentinel -o ndjson | head -1 | wc -l)"

# The scheduled runs equal one-shot detect at the same data time over the
# uninterrupted file: rotation lost nothing.
last=$("$BW" status --store "$clean/s.db" -o json | jq -r '.rules[] | select(.rule=="elastic") | .last_run_now')
"$BW" detect -q -r elastic --set elastic.group_by=src_dst_port --now "$last" "$TMP/full.log" |
  jq -cS 'del(.event)' | sort >"$TMP/detect.nd"
jq -c --arg t "${last%%.*}" 'select(.event.ingested != null and (.event.ingested | startswith($t)))' "$TMP/clean.nd" |
  jq -cS 'del(.event)' | sort >"$TMP/last.nd"
expect "last hourly run == detect --now" "$(md5sum <"$TMP/detect.nd")" "$(md5sum <"$TMP/last.nd")"

# SIGTERM: finishes the cycle and exits 0.
"$BW" watch "${OPTS[@]}" --interval 1 --store "$clean/s.db" "$clean/logs" &
pid=$!
sleep 1.5
kill -TERM $pid
wait $pid
expect "SIGTERM exits 0" 0 $?

done_tests
