#!/usr/bin/env python3
"""Scores the findings of beaconwatch, elastic and sentinel against ground
truth (bench/eval.sh, bench/eval_real.sh). Standard library only.

usage:
  eval_score.py LABELS.csv RULE=FINDINGS.ndjson ... [--json OUT]
      one generated workload: a JSON line per rule (also written to OUT)
  eval_score.py --report SCORE.json ...
      sums per-workload scores; prints the comparison tables and checks the
      targets of issue 6 (exit 0 either way: a missed target is a result)
  eval_score.py --real NAME CONN.log C2 RULE=FINDINGS.ndjson ... [--json OUT]
      one real capture: C2 = "src>dst:port[,...]" or "-" (none known); flows
      are classed by the Stratosphere `label` column when present
  eval_score.py --real-report REAL.json ...
      the real-data table: TP/FP/FN, precision, recall per rule

Matching (generated data). A finding names a flow by its group:
  beaconwatch  src_dst_port -> (src, dst, dport); host_process -> (host,
               process); src_domain -> (src, domain) [ECS input has no
               domain, so this grouping does not occur in the evaluation]
  elastic      (host.name, process.name); with group_by src_dst_port the
               process is "dst:port" and the host the source
  sentinel     (SrcIpAddr, DstIpAddr, DstPortNumber)
A finding is a true positive when its key is a malicious label's key and
no benign label's. A key of both (a beacon running as svchost.exe on a host
whose NTP client is svchost.exe too; processes behind the NAT gateway) is
*mixed*: its series may be the benign one, so a mixed finding neither finds
a beacon nor counts as a false alert, and is left out of the rankings; the
report counts mixed alerts apart.

Classes (labels' `class` column; absent = standard): standard beacons by
jitter model (standard-cs, standard-symmetric, standard-sliver), nat (a
standard beacon behind the NAT gateway), and the evasions fibonacci,
exponential, workhours, schedule-change. A beacon is *eligible* when it
made >= 20 records; the target set is the eligible standard and nat
beacons with jitter <= 0.5 and missed <= 0.2 (all generated ones are).
Recall counts eligible beacons found by at least one alerting finding.
Precision counts alerting findings. Average precision ranks every reported
finding by the rule's own score (ties keep the rule's output order) and
averages, over the eligible beacons of a class, the precision at the rank
where each is first found (0 when never found); for a class, findings of
other classes' beacons are left out of the ranking.
"""
import csv
import json
import sys

TARGET_CLASSES = ("standard-cs", "standard-symmetric", "standard-sliver", "nat")
EVASIONS = ("fibonacci", "exponential", "workhours", "schedule-change")
CLASS_ORDER = TARGET_CLASSES + EVASIONS
# slices of the target beacons, reported as extra rows
SUBSETS = (
    ("target: sleep > 1 h", lambda i: i["period"] > 3600),
    ("target: jitter 50 %", lambda i: i["jitter"] >= 0.5),
    ("target: missed 15-20 %", lambda i: i["missed"] >= 0.15),
    ("target: 2-3 C2 addresses", lambda i: i["ndst"] >= 2),
    ("target: IPv6", lambda i: i["v6"]),
)
RULES = ("beaconwatch", "elastic", "sentinel")


def load_labels(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def label_class(l):
    c = l.get("class") or "standard"
    return "standard-" + l["model"] if c == "standard" else c


def read_ndjson(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


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


def avg_precision(ranked, positive_ids, drop_ids, n_eligible):
    """ranked: [(ids)] best first. Findings whose ids are all in drop_ids are
    left out; a finding is a hit when it names a positive id."""
    if not n_eligible:
        return 0.0
    rank = hits = 0
    seen, ap = set(), 0.0
    for ids in ranked:
        if ids is None:  # a group mixing a beacon with benign periodic traffic
            continue
        pos = ids & positive_ids
        if ids and not pos and ids <= drop_ids:
            continue
        rank += 1
        if pos:
            hits += 1
        for _ in pos - seen:
            ap += hits / rank
        seen |= pos
    return ap / n_eligible


def score(labels, rule, path):
    mal, ben = {}, {}   # key -> set of beacon ids / of benign label numbers
    cls_of, target = {}, set()
    nben = 0
    for li, l in enumerate(labels):
        keys = [("sdp", l["src"], l["dst"], l["dport"]), ("hp", l["host"], l["process"])]
        if l["kind"] == "beacon":
            bid = int(l["id"])
            c = label_class(l)
            cls_of[bid] = c
            for k in keys:
                mal.setdefault(k, set()).add(bid)
        else:
            nben += 1
            for k in keys:
                ben.setdefault(k, set()).add(li)
    # a beacon rotating over N addresses has N labels: its records are the sum
    recs = {}
    for l in labels:
        if l["kind"] == "beacon":
            recs[int(l["id"])] = recs.get(int(l["id"]), 0) + int(l["records"])
    eligible = {b for b, n in recs.items() if n >= 20}
    info = {}
    for l in labels:
        if l["kind"] == "beacon":
            i = info.setdefault(int(l["id"]), {"period": float(l["period_s"]),
                                               "jitter": float(l["jitter"]),
                                               "missed": float(l["missed"]), "ndst": 0,
                                               "v6": ":" in l["src"]})
            i["ndst"] += 1
    for l in labels:
        if l["kind"] == "beacon":
            bid = int(l["id"])
            if (bid in eligible and cls_of[bid] in TARGET_CLASSES
                    and float(l["jitter"]) <= 0.5 and float(l["missed"]) <= 0.2):
                target.add(bid)
    rows = read_ndjson(path)
    found = set()
    tp = fp = fp_periodic = fp_other = n_mixed = 0
    ben_alerted = set()
    ranked = []
    order = []
    for i, d in enumerate(rows):
        sc, alert, keys = finding_keys(rule, d)
        ids = set()
        for k in keys:
            ids |= mal.get(k, set())
        mixed = bool(ids) and any(k in ben for k in keys)
        order.append((-sc, i, None if mixed else ids))
        if not alert:
            continue
        if mixed:
            n_mixed += 1
        elif ids:
            tp += 1
            found |= ids
        else:
            fp += 1
            if any(k in ben for k in keys):
                fp_periodic += 1
                for k in keys:
                    ben_alerted |= ben.get(k, set())
            else:
                fp_other += 1
    order.sort(key=lambda x: (x[0], x[1]))
    ranked = [ids for _, _, ids in order]
    all_ids = set(cls_of)
    classes = {}
    for c in CLASS_ORDER:
        ids_c = {b for b in all_ids if cls_of[b] == c}
        el_c = ids_c & eligible
        if not ids_c:
            continue
        classes[c] = {
            "beacons": len(ids_c),
            "eligible": len(el_c),
            "found": len(found & el_c),
            "ap_sum": avg_precision(ranked, el_c, all_ids - el_c, len(el_c)) * len(el_c),
        }
    for name, pred in SUBSETS:
        el_c = {b for b in target if pred(info[b])}
        if el_c:
            classes[name] = {
                "beacons": len(el_c), "eligible": len(el_c), "found": len(found & el_c),
                "ap_sum": avg_precision(ranked, el_c, all_ids - el_c, len(el_c)) * len(el_c)}
    n_t = len(target)
    out = {
        "rule": rule,
        "findings": len(rows),
        "alerts": tp + fp,
        "tp_alerts": tp,
        "fp_alerts": fp,
        "fp_alerts_on_benign_periodic": fp_periodic,
        "fp_alerts_other": fp_other,
        "mixed_alerts": n_mixed,
        "benign_periodic_flows": nben,
        "benign_periodic_flows_alerted": len(ben_alerted),
        "beacons": n_t,
        "beacons_found": len(found & target),
        "recall": len(found & target) / n_t if n_t else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        # positives: findings of target beacons; other beacons' findings
        # (evasions, too few records) are left out of the ranking
        "average_precision": avg_precision(ranked, target, all_ids - target, n_t)
        if n_t else None,
        "classes": classes,
    }
    if rule == "beaconwatch":
        out.update(estimates(labels, rows, target))
    return out


def band(S, J, model):
    """The interval each sleep is drawn from, for a model name of either
    the labels (cs, symmetric, sliver) or the detector (uniform-down,
    symmetric, added, constant)."""
    if model in ("cs", "uniform-down"):
        return S * (1 - J), S
    if model in ("sliver", "added"):
        return S, S * (1 + J)
    if model == "constant":
        return S, S
    return S * (1 - J), S * (1 + J)


def estimates(labels, rows, target):
    """S within 2 % and J within 5 points, on alerting (src, dst, dport)
    findings of single-destination target beacons."""
    by_id = {}
    for l in labels:
        if l["kind"] == "beacon":
            by_id.setdefault(l["id"], []).append(l)
    single = {}
    for bid, ls in by_id.items():
        if len(ls) == 1 and int(bid) in target:
            l = ls[0]
            single[(l["src"], l["dst"], l["dport"])] = l
    n = s_ok = j_ok = band_ok = 0
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
        if b["jitter"] is None:  # read as growing sleeps: a miss on S, J and band
            worst.append("%s %s: S %.1f vs %g, read as %s (%s)" % (
                l["host"], l["process"], b["sleep_s"], P, b["jitter_model"], l["model"]))
            continue
        so = abs(b["sleep_s"] - P) <= 0.02 * P
        jo = abs(b["jitter"] - J) <= 0.05
        s_ok += so
        j_ok += jo
        ta, tb = band(P, J, l["model"])
        ea, eb = band(b["sleep_s"], b["jitter"], b["jitter_model"])
        band_ok += abs(ea - ta) <= 0.02 * tb and abs(eb - tb) <= 0.02 * tb
        if not (so and jo):
            worst.append("%s %s: S %.1f vs %g, J %.2f vs %g (%s vs %s)" % (
                l["host"], l["process"], b["sleep_s"], P, b["jitter"], J,
                b["jitter_model"], l["model"]))
    return {"estimated": n, "sleep_within_2pct": s_ok, "jitter_within_5pts": j_ok,
            "band_within_2pct": band_ok,
            "estimate_misses": worst}


def fmt_ratio(a, b):
    return "%.3f" % (a / b) if b else "—"


def report(paths):
    tot = {}
    workloads = 0
    for p in paths:
        workloads += 1
        with open(p) as f:
            for r in json.load(f):
                t = tot.setdefault(r["rule"], {"alerts": 0, "tp": 0, "fp_periodic": 0, "mixed": 0,
                                               "fp_other": 0, "ben": 0, "ben_alerted": 0,
                                               "beacons": 0, "found": 0, "ap": 0.0,
                                               "est": 0, "s_ok": 0, "j_ok": 0, "band_ok": 0,
                                               "miss": [],
                                               "classes": {}})
                t["alerts"] += r["alerts"]
                t["mixed"] += r.get("mixed_alerts", 0)
                t["tp"] += r["tp_alerts"]
                t["fp_periodic"] += r["fp_alerts_on_benign_periodic"]
                t["fp_other"] += r["fp_alerts_other"]
                t["ben"] += r["benign_periodic_flows"]
                t["ben_alerted"] += r["benign_periodic_flows_alerted"]
                t["beacons"] += r["beacons"]
                t["found"] += r["beacons_found"]
                t["ap"] += (r["average_precision"] or 0) * r["beacons"]
                for c, v in r["classes"].items():
                    tc = t["classes"].setdefault(c, {"beacons": 0, "eligible": 0,
                                                      "found": 0, "ap_sum": 0.0})
                    for k in tc:
                        tc[k] += v[k]
                if "estimated" in r:
                    t["est"] += r["estimated"]
                    t["s_ok"] += r["sleep_within_2pct"]
                    t["j_ok"] += r["jitter_within_5pts"]
                    t["band_ok"] += r.get("band_within_2pct", 0)
                    t["miss"] += r["estimate_misses"]
    rules = [r for r in RULES if r in tot]
    print("### Target beacons (standard + NAT'd, >= 20 records, jitter <= 50 %%, "
          "missed <= 20 %%), %d workloads\n" % workloads)
    print("| rule | found / eligible | recall | alerts (+ mixed) | precision | average precision |")
    print("|---|---|---|---|---|---|")
    for rule in rules:
        t = tot[rule]
        print("| %s | %d / %d | %s | %d (+%d) | %s | %s |" % (
            rule, t["found"], t["beacons"], fmt_ratio(t["found"], t["beacons"]), t["alerts"],
            t["mixed"], fmt_ratio(t["tp"], t["alerts"]), fmt_ratio(t["ap"], t["beacons"])))
    print("\n### Per class: recall (found / eligible) and average precision\n")
    print("| class | " + " | ".join("%s recall | %s AP" % (r, r) for r in rules) + " |")
    print("|---|" + "---|---|" * len(rules))
    for c in CLASS_ORDER + tuple(n for n, _ in SUBSETS):
        cells = []
        for rule in rules:
            v = tot[rule]["classes"].get(c)
            if not v or not v["eligible"]:
                cells += ["—", "—"]
                continue
            cells += ["%s (%d/%d)" % (fmt_ratio(v["found"], v["eligible"]), v["found"],
                                      v["eligible"]),
                      fmt_ratio(v["ap_sum"], v["eligible"])]
        print("| %s | %s |" % (c, " | ".join(cells)))
    print("\n### Benign traffic: false alerts\n")
    print("| rule | alerts on benign periodic software | periodic flows alerted / all "
          "| alerts on other traffic (browsing, internal services) |")
    print("|---|---|---|---|")
    for rule in rules:
        t = tot[rule]
        print("| %s | %d | %d / %d | %d |" % (rule, t["fp_periodic"], t["ben_alerted"],
                                             t["ben"], t["fp_other"]))
    bw = tot.get("beaconwatch")
    if not bw:
        return
    rec = bw["found"] / bw["beacons"] if bw["beacons"] else 0
    prec = bw["tp"] / bw["alerts"] if bw["alerts"] else 0
    s_sh = bw["s_ok"] / bw["est"] if bw["est"] else 0
    j_sh = bw["j_ok"] / bw["est"] if bw["est"] else 0
    print("\n### Targets (issue 6), beaconwatch\n")
    for name, val, ok in (
            ("recall >= 0.95 on the target beacons", "%.3f" % rec, rec >= 0.95),
            ("precision >= 0.9 of alerts (default threshold)", "%.3f" % prec, prec >= 0.9),
            ("S within 2 %% (share of %d single-destination alerts, bar 0.95)" % bw["est"],
             "%.3f" % s_sh, s_sh >= 0.95),
            ("J within 5 points (same findings, bar 0.95)", "%.3f" % j_sh, j_sh >= 0.95)):
        print("- %s: %s — %s" % (name, val, "met" if ok else "NOT MET"))
    if bw["est"]:
        print("- (not a target) sleep band [min, max] within 2 %% of the true band, whatever "
              "the model: %.3f" % (bw["band_ok"] / bw["est"]))
    for m in bw["miss"]:
        print("  - estimate off: " + m)


# ------------------------------------------------------------ real data

def load_flow_labels(conn):
    """(src, dst, dport) -> set of generic labels (Stratosphere `label`
    column: Benign / Malicious / Background), or {"-"} without labels."""
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
            lab = v.get("label", "-") or "-"
            flows.setdefault(k, set()).add(lab.split(",")[0].strip() or "-")
    return flows


def real(name, rule, path, conn, c2):
    """One rule on one capture. c2: set of (src, dst, port) known C2 flows."""
    flows = load_flow_labels(conn) if conn.endswith((".log", ".labeled")) else {}
    rows = read_ndjson(path)
    tp_keys, fp_by = set(), {}
    ranks = {}
    order = []
    for i, d in enumerate(rows):
        sc, alert, keys = finding_keys(rule, d)
        order.append((-sc, i, keys, alert))
    order.sort(key=lambda x: (x[0], x[1]))
    tp = fp = 0
    for rank, (_, _, keys, alert) in enumerate(order, 1):
        sdp = [k[1:] for k in keys if k[0] == "sdp"]
        hit = [k for k in sdp if k in c2]
        for k in hit:
            ranks.setdefault(k, (rank, alert))
        if not alert:
            continue
        if hit:
            tp += 1
            tp_keys |= set(hit)
            continue
        fp += 1
        labs = set()
        for k in sdp:
            labs |= flows.get(k, set())
        cls = ("attack (inbound, not C2)" if "Malicious" in labs else
               "Benign" if "Benign" in labs else
               "Background" if "Background" in labs else "unlabelled")
        fp_by[cls] = fp_by.get(cls, 0) + 1
    return {"capture": name, "rule": rule, "findings": len(rows), "tp": tp, "fp": fp,
            "fn": len(c2 - tp_keys), "c2": len(c2), "fp_by_label": fp_by,
            "c2_missing": ["%s>%s:%s" % k for k in sorted(c2 - set(ranks))],
            "c2_rank": {"%s>%s:%s" % k: {"rank": r, "alert": a} for k, (r, a) in ranks.items()}}


def real_report(paths):
    res = []
    for p in paths:
        with open(p) as f:
            res += json.load(f)
    rules = [r for r in RULES if any(x["rule"] == r for x in res)]
    caps = []
    for x in res:
        if x["capture"] not in caps:
            caps.append(x["capture"])
    print("| capture | known C2 flows | " + " | ".join(
        "%s TP / FP / FN" % r for r in rules) + " |")
    print("|---|---|" + "---|" * len(rules))
    tot = {r: [0, 0, 0] for r in rules}
    for c in caps:
        cells = []
        c2 = 0
        for r in rules:
            x = next((y for y in res if y["capture"] == c and y["rule"] == r), None)
            if not x:
                cells.append("—")
                continue
            c2 = x["c2"]
            tot[r][0] += x["tp"]
            tot[r][1] += x["fp"]
            tot[r][2] += x["fn"]
            extra = ""
            if x["fp_by_label"]:
                extra = " (" + ", ".join("%s %d" % kv for kv in sorted(x["fp_by_label"].items())) + ")"
            cells.append("%d / %d / %d%s" % (x["tp"], x["fp"], x["fn"], extra))
        print("| %s | %d | %s |" % (c, c2, " | ".join(cells)))
    print("| **all** | | " + " | ".join("%d / %d / %d" % tuple(tot[r]) for r in rules) + " |")
    print()
    print("| rule | TP | FP | FN | precision | recall |")
    print("|---|---|---|---|---|---|")
    for r in rules:
        tp, fp, fn = tot[r]
        print("| %s | %d | %d | %d | %s | %s |" % (r, tp, fp, fn, fmt_ratio(tp, tp + fp),
                                                   fmt_ratio(tp, tp + fn)))
    for x in res:
        for k, v in x["c2_rank"].items():
            print("- %s %s: C2 %s reported at rank %d of %d findings, %s" % (
                x["capture"], x["rule"], k, v["rank"], x["findings"],
                "alerting" if v["alert"] else "below the alert threshold"))
        for k in x.get("c2_missing", []):
            print("- %s %s: C2 %s not among its %d findings" % (
                x["capture"], x["rule"], k, x["findings"]))


def pop_opt(args, name):
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return None


def main():
    args = sys.argv[1:]
    if args and args[0] == "--report":
        report(args[1:])
        return
    if args and args[0] == "--real-report":
        real_report(args[1:])
        return
    jout = pop_opt(args, "--json")
    res = []
    if args and args[0] == "--real":
        name, conn, c2s = args[1], args[2], args[3]
        c2 = set()
        if c2s != "-":
            for item in c2s.split(","):
                src, _, rest = item.partition(">")
                dst, _, port = rest.rpartition(":")
                c2.add((src, dst, port))
        for a in args[4:]:
            rule, path = a.split("=", 1)
            res.append(real(name, rule, path, conn, c2))
    else:
        if len(args) < 2:
            raise SystemExit(__doc__)
        labels = load_labels(args[0])
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
