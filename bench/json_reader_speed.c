/* Single-thread throughput of one reader over a file, the way the ingest
 * driver feeds it (blocks of 1 MiB, the unfinished record carried over).
 * Not built by CMake; compile by hand against a Release libbw.a:
 *   cc -O2 -Iinclude -Ilib bench/json_reader_speed.c build-rel/libbw.a \
 *      -lz -lzstd -lnettle -lyaml -lpthread -lm -o /tmp/json_reader_speed
 *   /tmp/json_reader_speed ecs /tmp/ecs200.ndjson            */
#include "ingest_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int sink(void *ctx, const bw_record *r)
{
    uint64_t *sum = ctx;
    *sum += (uint64_t)r->ts_us + (uint64_t)r->src_port + r->host_name.n;
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    bw_format f;
    const bw_reader *rd;
    FILE *fp;
    char *buf;
    long len;
    size_t block = 1u << 20, pos = 0, avail;
    uint64_t sum = 0;
    bw_parse p;
    bw_file_stats st;
    double t0, t1;

    if (argc != 3 || bw_format_parse(argv[1], &f) != 0 || !(rd = bw_reader_get(f))) {
        fprintf(stderr, "usage: json_reader_speed FORMAT FILE\n");
        return 2;
    }
    if (!(fp = fopen(argv[2], "rb")) || fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
        fseek(fp, 0, SEEK_SET) != 0 || !(buf = malloc((size_t)len + 1)) ||
        fread(buf, 1, (size_t)len, fp) != (size_t)len) {
        perror(argv[2]);
        return 1;
    }
    fclose(fp);
    memset(&p, 0, sizeof p);
    memset(&st, 0, sizeof st);
    p.line = 1;
    p.max_record = 1u << 20;
    p.st = &st;
    p.emit = sink;
    p.emit_ctx = &sum;
    p.scratch_cap = p.max_record + 64;
    p.scratch = malloc(p.scratch_cap);
    if (rd->init(&p) != 0)
        return 1;
    t0 = now();
    pos = rd->header(&p, buf, (size_t)len);
    for (avail = pos;;) {
        int eof;
        avail = avail + block < (size_t)len ? avail + block : (size_t)len;
        eof = avail == (size_t)len;
        pos += rd->feed(&p, buf + pos, avail - pos, eof);
        if (eof)
            break;
    }
    t1 = now();
    rd->fini(&p);
    {
        uint64_t sk = 0;
        for (int k = 0; k < BW_SKIP__COUNT; k++)
            sk += st.skipped[k];
        printf("%s: %.1f MB in %.3f s = %.1f MB/s, %llu records (%.2f M/s), %llu skipped, "
               "%llu lines (check %llu)\n",
               rd->name, (double)len / 1e6, t1 - t0, (double)len / 1e6 / (t1 - t0),
               (unsigned long long)st.records, (double)st.records / 1e6 / (t1 - t0),
               (unsigned long long)sk, (unsigned long long)(p.line - 1),
               (unsigned long long)sum % 1000);
    }
    free(p.scratch);
    free(buf);
    return 0;
}
