#!/usr/bin/env python3
"""Scores the findings of beaconwatch, elastic and sentinel against the
generator's labels (bench/eval.sh). Standard library only.

usage: eval_score.py LABELS.csv RULE=FINDINGS.ndjson ... [--json OUT]

A finding is a true positive when it names a malicious label's flow:
  beaconwatch  src_dst_port -> (src, dst, dport); host_process -> (host,
               process); src_domain -> (src, domain) [labels have no domain,
               so never]
  elastic      (host.name, process.name)
  sentinel     (SrcIpAddr, DstIpAddr, DstPortNumber)
Recall counts beacons (label ids) found by at least one alerting finding,
over the eligible beacons (>= 20 records, jitter <= 0.5, missed <= 0.2).
Precision counts alerting findings. Average precision ranks every reported
finding by the rule's own score (ties keep the rule's output order) and
averages the precision at the rank where each eligible beacon is first
found (0 for beacons never found).
"""
import csv
import json
import sys


def load_labels(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def finding_keys(rule, d):
    """(score, alert, [match keys]) of one finding document."""
    if rule == "beaconwatch":
        b = d["beacon"]
        by = d["group"]["by"]
        if by == "host_process":
            keys = [("hp", d["host"]["name"], d["process"]["name"])]
        elif by == "src_domain":
            keys = [("sd", d["source"]["ip"], d["destination"].get("domain", ""))]
        else:
            keys = [("sdp", d["source"]["ip"], d["destination"]["ip"],
                     str(d["destination"].get("port", "")))]
        return b["score"], bool(b["alert"]), keys
    if rule == "elastic":
        s = d["beacon_stats"]
        keys = [("hp", d["host"]["name"], d["process"]["name"])]
        pn = d["process"]["name"]
        if ":" in pn:  # group_by src_dst_port: host = source, process = dst:port
            dst, _, port = pn.rpartition(":")
            keys.append(("sdp", d["host"]["name"], dst.strip("[]"), port))
        return (float(s.get("beaconing_score", 0)), bool(s.get("is_beaconing")), keys)
    if rule.startswith("sentinel"):
        port = d.get("DstPortNumber")
        return (float(d["BeaconPercent"]), True,
                [("sdp", d["SrcIpAddr"], d["DstIpAddr"], "" if port is None else str(port))])
    raise SystemExit("unknown rule " + rule)


def score(labels, rule, path):
    mal = {}   # key -> set of beacon ids
    ben = {}   # key -> label
    eligible = set()
    for l in labels:
        keys = [("sdp", l["src"], l["dst"], l["dport"]), ("hp", l["host"], l["process"])]
        if l["kind"] == "beacon":
            bid = int(l["id"])
            if (int(l["records"]) >= 20 and float(l["jitter"]) <= 0.5
                    and float(l["missed"]) <= 0.2):
                eligible.add(bid)
            for k in keys:
                mal.setdefault(k, set()).add(bid)
        else:
            for k in keys:
                ben.setdefault(k, l["process"])
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append((json.loads(line)))
    found, tp, fp, benign_alerts = set(), 0, 0, 0
    ranked = []
    for i, d in enumerate(rows):
        sc, alert, keys = finding_keys(rule, d)
        ids = set()
        for k in keys:
            ids |= mal.get(k, set())
        is_ben = any(k in ben for k in keys)
        ranked.append((-sc, i, ids))
        if alert:
            if ids:
                tp += 1
                found |= ids
            else:
                fp += 1
                benign_alerts += is_ben
    ranked.sort(key=lambda x: (x[0], x[1]))
    seen, hits, ap = set(), 0, 0.0
    for rank, (_, _, ids) in enumerate(ranked, 1):
        if ids:
            hits += 1
        new = (ids & eligible) - seen
        for _ in new:
            ap += hits / rank
        seen |= new
    n_el = len(eligible)
    out = {
        "rule": rule,
        "findings": len(rows),
        "alerts": tp + fp,
        "tp_alerts": tp,
        "fp_alerts": fp,
        "fp_alerts_on_benign_periodic": benign_alerts,
        "beacons": n_el,
        "beacons_found": len(found & eligible),
        "recall": len(found & eligible) / n_el if n_el else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "average_precision": ap / n_el if n_el else None,
    }
    if rule == "beaconwatch":
        out.update(estimates(labels, rows))
    return out


def estimates(labels, rows):
    """S within 2 % and J within 5 points, on (src, dst, dport) findings of
    single-destination beacons."""
    by_id = {}
    for l in labels:
        if l["kind"] == "beacon":
            by_id.setdefault(l["id"], []).append(l)
    single = {}
    for bid, ls in by_id.items():
        if len(ls) == 1:
            l = ls[0]
            single[(l["src"], l["dst"], l["dport"])] = l
    n = s_ok = j_ok = 0
    worst = []
    for d in rows:
        if d["group"]["by"] != "src_dst_port" or not d["beacon"]["alert"]:
            continue
        k = (d["source"]["ip"], d["destination"]["ip"], str(d["destination"].get("port", "")))
        l = single.get(k)
        if not l:
            continue
        n += 1
        b = d["beacon"]
        P, J = float(l["period_s"]), float(l["jitter"])
        so = abs(b["sleep_s"] - P) <= 0.02 * P
        jo = abs(b["jitter"] - J) <= 0.05
        s_ok += so
        j_ok += jo
        if not (so and jo):
            worst.append("%s %s: S %.1f vs %g, J %.2f vs %g (%s vs %s)" % (
                l["host"], l["process"], b["sleep_s"], P, b["jitter"], J,
                b["jitter_model"], l["model"]))
    return {"estimated": n, "sleep_within_2pct": s_ok, "jitter_within_5pts": j_ok,
            "estimate_misses": worst}


def real(rule, path, conn, c2):
    """Alerts on a real Zeek conn log: each alerting (src, dst, dport)
    finding is classed by the labels of its flows (Stratosphere `label`
    column when present); c2 = "ip:port" of a known C2, or empty."""
    flows = {}
    with open(conn, errors="replace") as f:
        fields = None
        for line in f:
            if line.startswith("#fields"):
                fields = line.rstrip("\n").split("\t")[1:]
                continue
            if line.startswith("#") or not fields:
                continue
            v = dict(zip(fields, line.rstrip("\n").split("\t")))
            k = (v.get("id.orig_h"), v.get("id.resp_h"), v.get("id.resp_p"))
            lab = v.get("label", "-")
            flows.setdefault(k, set()).add(lab.split(",")[0].strip() if lab else "-")
    classes = {}
    c2_found = False
    n = 0
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            sc, alert, keys = finding_keys(rule, d)
            if not alert:
                continue
            n += 1
            k = keys[-1]
            if k[0] == "sdp":
                labs = flows.get(k[1:], {"?"})
                if c2 and "%s:%s" % (k[2], k[3]) == c2:
                    c2_found = True
                    labs = {"C2"}
            else:
                labs = {"(host/process)"}
            cls = "Malicious" if "Malicious" in labs or "C2" in labs else \
                "Benign" if "Benign" in labs else sorted(labs)[0]
            classes[cls] = classes.get(cls, 0) + 1
    out = {"rule": rule, "alerts": n, "by_label": classes}
    if c2:
        out["c2_found"] = c2_found
    return out


def main():
    args = sys.argv[1:]
    if args and args[0] == "--real":
        # --real CONN.log C2|- RULE=FINDINGS ...
        conn, c2 = args[1], args[2]
        for a in args[3:]:
            rule, path = a.split("=", 1)
            print(json.dumps(real(rule, path, conn, "" if c2 == "-" else c2)))
        return
    jout = None
    if "--json" in args:
        i = args.index("--json")
        jout = args[i + 1]
        del args[i:i + 2]
    if len(args) < 2:
        raise SystemExit(__doc__)
    labels = load_labels(args[0])
    res = []
    for a in args[1:]:
        rule, path = a.split("=", 1)
        res.append(score(labels, rule, path))
    if jout:
        with open(jout, "w") as f:
            json.dump(res, f)
    for r in res:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
