#!/usr/bin/env bash
# End to end on the real third-party logs in ../shared/data: record counts
# per session file (counted independently with grep/jq/zcat, numbers noted
# here), exact field values per format through `records`, and what the two
# seed rules find (docs/real-data.md explains each finding).
. "$(dirname "$0")/lib.inc"
need_shared
D=$SHARED/data
count() { "$BW" records --count -q "$@" 2>/dev/null; }

# Zeek TSV: grep -vc '^#' (rita/open_conns/closed/conn.log has one blank line).
expect "008 conn"      5663 "$(count "$D/stratosphere/008-zeek-mixed/data/conn.log.labeled")"
expect "010 conn"      5347 "$(count "$D/stratosphere/010-zeek-mixed/data/conn.log.labeled")"
expect "011 conn"      9048 "$(count "$D/stratosphere/011-zeek-mixed/data/conn.log.labeled")"
expect "012 conn"      4740 "$(count "$D/stratosphere/012-zeek-mixed/data/conn.log.labeled")"
expect "003 conn"       361 "$(count "$D/stratosphere/003-zeek-scenario-malicious/conn.log")"
expect "005 conn"       992 "$(count "$D/stratosphere/005-zeek-scenario-malicious/conn.log")"
expect "006 conn (v6)"   18 "$(count "$D/stratosphere/006-zeek-scenario-ssh/conn.log")"
expect "rita proxy"     463 "$(count "$D/rita/proxy/conn.log")"
# zcat FILE | grep -vc '^#': 290 + 7,260; the directory's other logs are skipped
expect "rita proxy_rolling dir (gz, _node_name)" 7550 "$(count "$D/rita/proxy_rolling")"
# 59 closed + 29 open conn.log + 59 open_conn.log
expect "rita open_conns dir" 147 "$(count "$D/rita/open_conns")"
# zcat | grep -vc '^#': 12 each
expect "rita open_sni open_conn gz" 24 "$(count "$D"/rita/open_sni/open_conn.*.gz)"
# 59 lines, the last cut mid-line: 58 + one truncated skip
expect "rita truncated conn" 58 "$(count "$D/rita/truncated/conn.log")"
# Zeek JSON: wc -l (4,504); the Elastic fixture has 18 objects (17 newlines);
# jq 'select(._path=="conn")' = 29; open_conn 59; conn_json: 2 good of 4.
expect "002 zeek-json"  4504 "$(count "$D/stratosphere/002-zeek-scenario-port-scanning/conn.log")"
expect "elastic zeek-json" 18 "$(count "$D/elastic/zeek-connection-test-conn.log")"
expect "rita json conn" 29 "$(count "$D/rita/json_with_all_fields/conn.log")"
expect "rita json open_conn" 59 "$(count "$D/rita/json_with_all_fields/open_conn.log")"
expect "rita truncated conn_json" 2 "$(count "$D/rita/truncated/conn_json.log")"
# ECS (pretty-printed, 1 document); eve: jq 'select(.event_type=="flow")' = 1 and 2
expect "ecs flow sample" 1 "$(count "$D/elastic/network_traffic-flow-sample_event.json")"
expect "eve small"       1 "$(count "$D/elastic/suricata-test-eve-small.log")"
expect "eve 6.0"         2 "$(count "$D/elastic/suricata-test-eve-6-0.log")"
"$BW" records --count "$D/elastic/suricata-test-eve-small.log" 2>"$TMP/err" >/dev/null
expect "eve non-flow events counted, not malformed" 1 "$(grep -c 'ignored 11 non-session events' "$TMP/err")"
# A header-less Zeek TSV is an error naming the file, with a hint
expect_rc "header-less TSV rejected" 1 "$BW" records "$D/rita/truncated/conn_top.log"
expect "header-less hint" yes "$(grep -q 'conn_top.log: not a supported format.*without its #fields header' "$TMP/err" && echo yes)"

# Exact fields, one record per format.
rec() { "$BW" records -q "$1" 2>/dev/null | sed -n "${2:-1}p"; }
r=$(rec "$D/stratosphere/008-zeek-mixed/data/conn.log.labeled")
expect "zeek ts/bytes/state" '2022-06-12T21:59:58.444458Z 1596 4039 1135424 SF' \
  "$(jq -r '"\(.ts) \(.src_bytes) \(.dst_bytes) \(.duration_us) \(.conn_state)"' <<<"$r")"
r=$(rec "$D/stratosphere/006-zeek-scenario-ssh/conn.log")
expect "zeek IPv6" '2001:718:2:1663::1ce 2001:718:2:1663:2d1c:6afd:7fc2:31f8 902' \
  "$(jq -r '"\(.src_ip) \(.dst_ip) \(.dst_port)"' <<<"$r")"
r=$(rec "$D/rita/proxy_rolling" 7550)
expect "zeek gz with _node_name" '2024-04-29T20:58:10.145446Z 10.0.0.111 239.255.255.250 1900' \
  "$(jq -r '"\(.ts) \(.src_ip) \(.dst_ip) \(.dst_port)"' <<<"$r")"
r=$(rec "$D/stratosphere/002-zeek-scenario-port-scanning/conn.log")
expect "zeek-json" '2022-09-29T14:40:56.755299Z 172.16.1.11 8.8.8.8 udp 12166 SHR' \
  "$(jq -r '"\(.ts) \(.src_ip) \(.dst_ip) \(.transport) \(.duration_us) \(.conn_state)"' <<<"$r")"
r=$(rec "$D/elastic/network_traffic-flow-sample_event.json")
expect "ecs pretty-printed" '2023-10-16T22:40:20.005000Z ::1 51320 88 64 docker-fleet-agent network_flow' \
  "$(jq -r '"\(.ts) \(.src_ip) \(.src_port) \(.src_bytes) \(.dst_bytes) \(.host_name) \(.event_action)"' <<<"$r")"
expect "ecs event.category array" '["network"]' "$(jq -c .event_category <<<"$r")"
r=$(rec "$D/elastic/suricata-test-eve-6-0.log" 1)
expect "eve flow (+0000 offsets, flow.start)" '2024-07-30T16:48:20.399198Z 10.1.22.212 10.1.46.5 7626 10780 240000358 closed' \
  "$(jq -r '"\(.ts) \(.src_ip) \(.dst_ip) \(.src_bytes) \(.dst_bytes) \(.duration_us) \(.conn_state)"' <<<"$r")"

# What the seed rules find (docs/real-data.md).
run() { "$BW" detect -q --output csv "$@" 2>/dev/null; }
ALLTIME=(--start 0 --end 2100-01-01T00:00:00Z)
out=$(run --rule sentinel "${ALLTIME[@]}" "$D/rita/proxy_rolling")
expect "sentinel: proxy_rolling SSDP alerts" 4 "$(grep -c ',239.255.255.250,1900,120,' <<<"$out")"
expect "sentinel: nothing else there" 5 "$(wc -l <<<"$out")"
for f in stratosphere/003-zeek-scenario-malicious/conn.log stratosphere/008-zeek-mixed/data/conn.log.labeled \
         stratosphere/011-zeek-mixed/data/conn.log.labeled rita/proxy/conn.log; do
  expect "sentinel: no alert in $f" "" "$(run --rule sentinel "${ALLTIME[@]}" "$D/$f")"
done
CESNET=(--group-by src_dst_port --internal 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,147.32.0.0/16)
out=$(run --rule elastic "${CESNET[@]}" "$D/stratosphere/008-zeek-mixed/data/conn.log.labeled")
expect "elastic: 008 flags 9 benign groups in its last 6 h" 10 "$(wc -l <<<"$out")"
expect "elastic: 008 Microsoft 20.199.120.151 score 3" 1 "$(grep -c '147.32.81.167,20.199.120.151:443,3,false,true,true,true' <<<"$out")"
out=$(run --rule elastic --all --group-by src_dst_port "$D/stratosphere/003-zeek-scenario-malicious/conn.log")
expect "elastic: 003 RAT C2 not beaconing (score 0)" 1 "$(grep -c '10.8.0.61,147.32.83.234:1337,0,false,false,false,false' <<<"$out")"
done_tests
