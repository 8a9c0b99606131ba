/* Shared body of the libFuzzer targets for the JSON and CSV readers
 * (fuzz_zeek_json.c, fuzz_ecs.c, fuzz_asim_csv.c, fuzz_asim_json.c,
 * fuzz_eve.c). The input is parsed whole with a large record cap, then
 * twice with a small cap: whole (eof=1), and in two feeds split at a
 * position taken from the input (eof=0, then the rest with eof=1). The two
 * small-cap runs must agree on records, skips and lines, or the target
 * aborts: feeding in pieces must never change the result. */
#ifndef BW_FUZZ_READER_H
#define BW_FUZZ_READER_H

#include "ingest_reader.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_out {
    uint64_t records, line;
    uint64_t skipped[BW_SKIP__COUNT];
} fuzz_out;

static int fuzz_sink(void *ctx, const bw_record *r)
{
    /* Touch every string so ASan checks the slices. */
    const bw_str *s[] = {&r->transport, &r->host_name, &r->process_name, &r->dst_domain,
                         &r->event_action, &r->event_category, &r->conn_state};
    volatile unsigned x = 0;
    (void)ctx;
    for (size_t k = 0; k < sizeof s / sizeof s[0]; k++) {
        for (size_t i = 0; i < s[k]->n; i++)
            x += (unsigned char)s[k]->p[i];
    }
    (void)x;
    return 0;
}

static void fuzz_parse(const bw_reader *rd, const char *buf, size_t n, size_t split,
                       uint32_t cap, fuzz_out *out)
{
    bw_parse p;
    bw_file_stats st;
    size_t h, used, from;
    memset(&p, 0, sizeof p);
    memset(&st, 0, sizeof st);
    p.path = "fuzz";
    p.line = 1;
    p.max_record = cap;
    p.st = &st;
    p.emit = fuzz_sink;
    p.scratch_cap = (size_t)cap + 64;
    p.scratch = malloc(p.scratch_cap);
    if (!p.scratch || rd->init(&p) != 0) {
        free(p.scratch);
        abort();
    }
    h = rd->header(&p, buf, n);
    if (h > n)
        abort();
    for (size_t k = 0; k < h; k++)
        p.line += buf[k] == '\n';
    if (split < h)
        split = h;
    if (split > n)
        split = n;
    used = rd->feed(&p, buf + h, split - h, split == n);
    if (used > split - h)
        abort();
    from = h + used;
    if (split < n && rd->feed(&p, buf + from, n - from, 1) != n - from)
        abort(); /* at eof everything is consumed */
    if (split == n && from != n)
        abort();
    out->records = st.records;
    out->line = p.line;
    memcpy(out->skipped, st.skipped, sizeof st.skipped);
    rd->fini(&p);
    free(p.scratch);
}

static int fuzz_reader(const bw_reader *rd, const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1); /* exact size: ASan sees over-reads */
    fuzz_out whole, split, big;
    uint32_t cap;
    int s;
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    s = rd->sniff(copy, size);
    if (s < 0 || s > 100)
        abort();
    (void)rd->splittable(copy, size);
    fuzz_parse(rd, copy, size, size, 1u << 20, &big);
    cap = 16 + (size ? data[0] : 0);
    fuzz_parse(rd, copy, size, size, cap, &whole);
    fuzz_parse(rd, copy, size, size > 1 ? (size_t)data[1] * size / 256 : 0, cap, &split);
    if (whole.records != split.records || whole.line != split.line ||
        memcmp(whole.skipped, split.skipped, sizeof whole.skipped) != 0)
        abort();
    /* Every newline is counted exactly once, whatever the cap. */
    {
        uint64_t lines = 1;
        for (size_t k = 0; k < size; k++)
            lines += copy[k] == '\n';
        if (big.line != lines || whole.line != lines)
            abort();
    }
    free(copy);
    return 0;
}

#endif
