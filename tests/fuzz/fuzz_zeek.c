/* libFuzzer target for the Zeek TSV reader: the input is parsed whole
 * (eof=1) and again in two feeds split at a position taken from its first
 * byte, with a small record cap, so buffer edges and caps are exercised. */
#include "ingest_reader.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *ctx, const bw_record *r)
{
    volatile int64_t x = r->ts_us + r->src_port + (int64_t)r->transport.n;
    (void)ctx;
    (void)x;
    return 0;
}

static void parse(const bw_reader *rd, const char *buf, size_t n, size_t split, uint32_t cap)
{
    bw_parse p;
    bw_file_stats st;
    memset(&p, 0, sizeof p);
    memset(&st, 0, sizeof st);
    p.path = "fuzz";
    p.line = 1;
    p.max_record = cap;
    p.st = &st;
    p.emit = sink;
    p.scratch_cap = cap + 64;
    p.scratch = malloc(p.scratch_cap);
    if (!p.scratch || rd->init(&p) != 0) {
        free(p.scratch);
        return;
    }
    rd->sniff(buf, n);
    size_t h = rd->header(&p, buf, n);
    if (split < h)
        split = h;
    if (split > n)
        split = n;
    size_t used = rd->feed(&p, buf + h, split - h, 0);
    size_t from = h + used;
    rd->feed(&p, buf + from, n - from, 1);
    rd->fini(&p);
    free(p.scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const bw_reader *rd = bw_reader_get(BW_FMT_ZEEK);
    char *copy = malloc(size ? size : 1); /* exact-size heap copy: ASan sees overreads */
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    parse(rd, copy, size, size, 1u << 20);
    parse(rd, copy, size, size ? data[0] * size / 256 : 0, 64);
    free(copy);
    return 0;
}
