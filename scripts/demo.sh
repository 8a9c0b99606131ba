#!/usr/bin/env bash
# The demo: generate a labelled 8-hour workload of 50 hosts as ECS NDJSON
# and Zeek TSV, run both seed rules on it in one pass, and show what each
# found next to the ground truth, and what Beaconwatch's own detector finds.
set -euo pipefail
BW=${1:-build/beaconwatch}
out=${BW_DEMO_DIR:-build/demo}
mkdir -p "$out"
echo "== generating a workload (50 hosts, 8 h, 300,000 sessions) in $out/"
"$BW" generate -f ecs -n 300k --hours 8 --hosts 50 --seed 7 -o "$out/sessions.ndjson" \
    --labels "$out/labels.csv"
"$BW" generate -f zeek -n 300k --hours 8 --hosts 50 --seed 7 -o "$out/conn.log"
echo "== what the reader understood (first record)"
("$BW" records -q "$out/sessions.ndjson" || true) | head -1
echo
echo "== detect --rule all on the ECS log (elastic: top 15 by score)"
win=(--start 2026-01-01T00:00:00Z --end 2026-01-01T08:00:00Z)  # sentinel: the generated 8 h
"$BW" detect -q --rule all "${win[@]}" --output table "$out/sessions.ndjson" > "$out/table.txt"
sed -n '1,17p' "$out/table.txt" | cut -c1-150
grep -A8 '^== sentinel' "$out/table.txt" | cut -c1-150 || true
"$BW" detect -q --rule all "${win[@]}" --output ndjson --all "$out/sessions.ndjson" > "$out/findings.ndjson"
echo
echo "== the same on the Zeek log, grouped by (source, destination, port)"
"$BW" detect -q --rule elastic --group-by src_dst_port --output table "$out/conn.log" > "$out/zeek-table.txt"
sed -n 1,8p "$out/zeek-table.txt" | cut -c1-150
echo
echo "== scored against the generator's ground truth ($out/labels.csv)"
python3 - "$out/labels.csv" "$out/findings.ndjson" <<'PY'
import csv, json, sys
labels = list(csv.DictReader(open(sys.argv[1])))
flagged_hp, flagged_pair = set(), set()
bw_hp, bw_pair, bw_alerts = set(), set(), 0
for line in open(sys.argv[2]):
    d = json.loads(line)
    if d.get("rule") == "beaconwatch":
        if d["beacon"]["alert"]:
            bw_alerts += 1
            g = d["group"]
            if g["by"] == "host_process":
                bw_hp.add((d["host"]["name"], d["process"]["name"]))
            elif "destination" in d and "ip" in d["destination"]:
                bw_pair.add((d["source"]["ip"], d["destination"]["ip"]))
    elif "beacon_stats" in d and d["beacon_stats"].get("is_beaconing"):
        flagged_hp.add((d["host"]["name"], d["process"]["name"]))
    elif "SrcIpAddr" in d:
        flagged_pair.add((d["SrcIpAddr"], d["DstIpAddr"]))
mal = [l for l in labels if l["kind"] == "beacon"]
ben = [l for l in labels if l["kind"] != "beacon"]
hp = {(l["host"], l["process"]) for l in mal}
pairs = {(l["src"], l["dst"]) for l in mal}
bhp = {(l["host"], l["process"]) for l in ben}
print(f"malicious beacons: {len(hp)} (host, process) groups, {len(pairs)} (src, dst) pairs")
print(f"elastic : flagged {len(flagged_hp)} groups; {len(hp & flagged_hp)} of {len(hp)} malicious, "
      f"{len(bhp & flagged_hp)} benign periodic (NTP, EDR, updates)")
print(f"sentinel: alerted on {len(flagged_pair)} pairs; {len(pairs & flagged_pair)} of {len(pairs)} malicious")
print(f"beaconwatch: {bw_alerts} alerts; {len(hp & bw_hp)} of {len(hp)} malicious (host, process) groups, "
      f"{len(pairs & bw_pair)} of {len(pairs)} malicious pairs, {len(bhp & bw_hp)} benign groups alerted")
PY
echo
echo "outputs: $out/table.txt, $out/findings.ndjson (NDJSON; also --output csv|bulk)"
