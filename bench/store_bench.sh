#!/usr/bin/env bash
# Store write throughput: (1) the library alone — findings/s through
# bw_store_put_finding with elastic-sized documents in batched
# transactions, and sampled records/s through bw_sampler_add +
# bw_store_put_sample; (2) end to end — `detect` on a generated ECS
# workload without and with --store (the sample makes up most of the cost).
# Usage: bash bench/store_bench.sh BUILD_DIR   (a Release build, e.g. build)
set -euo pipefail
BUILD=${1:?usage: bench/store_bench.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
FINDINGS=${BW_BENCH_FINDINGS:-200000}
SAMPLED=${BW_BENCH_SAMPLED:-2000000}
RECORDS=${BW_BENCH_RECORDS:-2000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/sb.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "beaconwatch/bw_store.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv)
{
    const char *path = argv[1];
    long nf = atol(argv[2]), ns = atol(argv[3]);
    bw_store *s; bw_errbuf eb = {{0}};
    if (bw_store_open(path, 0, &s, &eb)) { fprintf(stderr, "%s\n", eb.msg); return 1; }
    char doc[2048], id[80];
    /* An elastic document of the usual size (~1.1 KB). */
    double t0 = now();
    bw_store_begin(s, &eb);
    for (long i = 0; i < nf; i++) {
        snprintf(id, sizeof id, "%064lx", i * 2654435761UL);
        snprintf(doc, sizeof doc, "{\"@timestamp\":\"2026-01-01T08:00:00.000Z\",\"event\":"
            "{\"ingested\":\"2026-01-01T08:01:00.000Z\"},\"host\":{\"name\":\"ws-%05ld\"},"
            "\"process\":{\"name\":\"proc-%ld.exe\"},\"source\":{\"ip\":\"10.0.%ld.%ld\"},"
            "\"beacon_stats\":{\"is_beaconing\":true,\"beaconing_score\":3,"
            "\"low_source_bytes_variation\":true,\"low_destination_bytes_variation\":true,"
            "\"low_count_variation\":true,\"periodic\":true,\"interval\":360,"
            "\"non_empty_buckets\":355,\"mean_source_bytes\":1432.51,\"std_dev_source_bytes\""
            ":12.3,\"source_bytes_percentiles\":[1400,1460],\"mean_destination_bytes\":410.2,"
            "\"std_dev_destination_bytes\":9.1,\"destination_bytes_percentiles\":[398,421],"
            "\"mean_counts\":1.02,\"variance_counts\":0.01,\"counts_percentiles\":[1,1],"
            "\"autocovariance\":0.93,\"max_autocovariance_period\":5,\"destination_ips\":"
            "[\"40.106.68.21\",\"40.106.68.22\"]}}", i % 5000, i % 40, (i >> 8) % 256, i % 256);
        bw_finding f = {"elastic", id, NULL, 1767254400000000LL + i, 3, 1, doc, 0, NULL};
        if (bw_store_put_finding(s, &f, 1767254460000000LL, &eb)) { fprintf(stderr, "%s\n", eb.msg); return 1; }
        if (i % 10000 == 9999) { bw_store_commit(s, &eb); bw_store_begin(s, &eb); }
    }
    bw_store_commit(s, &eb);
    double tf = now() - t0;
    /* Sampled records: 2,000 groups, per-group cap 10,000. */
    bw_sampler *sm = bw_sampler_new(BW_SAMPLE_HOST_PROCESS, 10000, 200000, 4000000);
    bw_record r; char host[32], proc[32];
    t0 = now();
    for (long i = 0; i < ns; i++) {
        bw_record_clear(&r);
        int hl = snprintf(host, sizeof host, "ws-%05ld", i % 2000);
        int pl = snprintf(proc, sizeof proc, "p%ld.exe", i % 7);
        r.ts_us = 1767225600000000LL + i * 1000; r.host_name.p = host; r.host_name.n = (size_t)hl;
        r.process_name.p = proc; r.process_name.n = (size_t)pl;
        bw_ip_parse("10.20.0.5", 9, &r.src_ip); bw_ip_parse("40.106.68.21", 12, &r.dst_ip);
        r.src_port = 50000 + (int)(i % 10000); r.dst_port = 443; r.src_bytes = 1400; r.dst_bytes = 400;
        r.transport.p = "tcp"; r.transport.n = 3; r.event_action.p = "disconnect_received";
        r.event_action.n = 19;
        bw_sampler_add(sm, &r);
    }
    double ta = now() - t0;
    bw_sampler_stats st; bw_sampler_stats_get(sm, &st);
    uint64_t w = 0;
    t0 = now();
    bw_store_begin(s, &eb);
    if (bw_store_put_sample(s, sm, 10000, &w, &eb)) { fprintf(stderr, "%s\n", eb.msg); return 1; }
    bw_store_commit(s, &eb);
    double tw = now() - t0;
    printf("findings written         %10ld in %6.2f s = %9.0f findings/s (10,000 per transaction)\n", nf, tf, nf / tf);
    printf("records sampled (memory) %10ld in %6.2f s = %9.0f records/s\n", ns, ta, ns / ta);
    printf("sampled records written  %10llu in %6.2f s = %9.0f records/s (%llu groups)\n",
           (unsigned long long)w, tw, w / tw, (unsigned long long)st.groups);
    bw_sampler_free(sm);
    bw_store_close(s);
    return 0;
}
EOF
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$src/include" "$tmp/sb.c" "$BUILD/libbw.a" \
   $(pkg-config --libs sqlite3 zlib libzstd nettle yaml-0.1) -lpthread -lm -o "$tmp/sb"
echo "== library: $FINDINGS findings, $SAMPLED records offered to the sampler"
"$tmp/sb" "$tmp/bench.db" "$FINDINGS" "$SAMPLED"
echo "store file: $(du -h "$tmp/bench.db" | cut -f1)"

echo "== end to end: detect on $RECORDS generated ECS records"
"$BUILD/beaconwatch" generate -f ecs -n "$RECORDS" --hours 8 -o "$tmp/ecs.ndjson" 2>/dev/null
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>"$tmp/err"; e=$(date +%s.%N);
      echo "$e - $s" | bc; }
a=$(t "$BUILD/beaconwatch" detect -r all "$tmp/ecs.ndjson")
b=$(t "$BUILD/beaconwatch" detect -r all --store "$tmp/e2e0.db" --sample 0 "$tmp/ecs.ndjson")
c=$(t "$BUILD/beaconwatch" detect -r all --store "$tmp/e2e.db" "$tmp/ecs.ndjson")
grep '^store:' "$tmp/err" || true
printf "detect                       %6.2f s\n" "$a"
printf "detect --store --sample 0    %6.2f s\n" "$b"
printf "detect --store (10,000/grp)  %6.2f s   store file %s\n" "$c" "$(du -h "$tmp/e2e.db" | cut -f1)"

# --- watch lag: a Zeek log growing at RATE records/s for SECS seconds
RATE=${BW_BENCH_RATE:-50000}
SECS=${BW_BENCH_SECS:-20}
"$BUILD/beaconwatch" generate -f zeek -n $((RATE * SECS)) --hours 24 --seed 9 -o "$tmp/g.log" 2>/dev/null
mkdir -p "$tmp/live"
# wall: the live case (rules run on the hour of the system clock);
# data: a replay, where every few seconds of input cross an hour and each
# hourly elastic run re-reads its 6 h window — the worst case.
for CLOCK in ${BW_BENCH_CLOCK:-wall data}; do
echo "== watch: file growing at $RATE records/s for $SECS s (--interval 1, --clock $CLOCK)"
rm -rf "$tmp/live" "$tmp"/watch.db*; mkdir -p "$tmp/live"
python3 - "$BUILD/beaconwatch" "$tmp" "$RATE" "$SECS" "$CLOCK" <<'PY'
import os, sqlite3, subprocess, sys, time
bw, tmp, rate, secs, clock = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
lines = open(f"{tmp}/g.log", "rb").read().split(b"\n")
head = [l for l in lines if l.startswith(b"#") and not l.startswith(b"#close")]
body = [l for l in lines if l and not l.startswith(b"#")]
live = f"{tmp}/live/conn.log"
with open(live, "wb") as f:
    f.write(b"\n".join(head) + b"\n")
db = f"{tmp}/watch.db"
w = subprocess.Popen([bw, "watch", "--interval", "1", "--clock", clock, "--settle", "0",
                      "--set", "elastic.group_by=src_dst_port", "-q", "--store", db,
                      f"{tmp}/live"])
time.sleep(0.5)
written = []  # (wall, size)
step = rate // 10
t0 = time.time()
with open(live, "ab") as f:
    for i in range(0, len(body), step):
        f.write(b"\n".join(body[i:i + step]) + b"\n"); f.flush()
        written.append((time.time(), f.tell()))
        sleep = t0 + (i // step + 1) * 0.1 - time.time()
        if sleep > 0: time.sleep(sleep)
end = time.time()
achieved = len(body) / (end - t0)
def committed():
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        r = c.execute("select max(offset) from offsets_v1").fetchone()[0] or 0
        c.close(); return r
    except sqlite3.Error:
        return 0
lags = []
final = written[-1][1]
while True:
    off, now = committed(), time.time()
    # lag = how long ago the file first reached the committed size
    reached = [t for t, s in written if s <= off]
    if reached: lags.append(now - reached[-1])
    if off >= final: break
    if now - end > 120: print("watch did not catch up in 120 s"); break
    time.sleep(0.2)
caught = time.time() - end
w.terminate(); w.wait()
lags.sort()
if not lags: lags = [float("nan")]
print(f"writer: {len(body)} records at {achieved:,.0f} records/s")
print(f"caught up {caught:.2f} s after the writer stopped; committed-offset lag p50 "
      f"{lags[len(lags)//2]:.2f} s, max {lags[-1]:.2f} s (cycle interval 1 s)")
PY
done
