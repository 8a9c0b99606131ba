/* The ingest driver: chunked parallel reads give the same records and line
 * numbers as a sequential read; gzip (also multi-member and truncated) and
 * zstd; directories in path order; unsupported and empty files. */
#include "beaconwatch/bw_ingest.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

typedef struct acc {
    uint64_t n, sum_ts, last_ts;
    int ordered;
    char pad[40];
} acc;

static int add(void *ctx, const bw_record *r)
{
    acc *a = ctx;
    a->n++;
    a->sum_ts += (uint64_t)r->ts_us;
    if ((uint64_t)r->ts_us < a->last_ts)
        a->ordered = 0;
    a->last_ts = (uint64_t)r->ts_us;
    return 0;
}

static const char *path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_conn(const char *name, int rows, int bad_every)
{
    FILE *f = fopen(path(name), "w");
    fprintf(f, "#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\t"
               "id.resp_p\n");
    for (int i = 0; i < rows; i++) {
        if (bad_every && i % bad_every == bad_every - 1)
            fprintf(f, "%d\tnot-an-ip\t1\t2.2.2.2\t443\n", 1000 + i);
        else
            fprintf(f, "%d\t10.0.0.%d\t%d\t2.2.2.2\t443\n", 1000 + i, i % 250, 1000 + i % 60000);
    }
    fclose(f);
}

/* Runs the inputs with nctx workers; returns the total records. */
static uint64_t run(const char *const *inputs, int n, int nctx, uint64_t chunk_min,
                    bw_ingest **keep, acc *total)
{
    bw_ingest_opts o = {0};
    acc a[4];
    void *ctx[4];
    o.threads = nctx;
    o.chunk_min = chunk_min;
    bw_ingest *in = bw_ingest_new(&o);
    memset(a, 0, sizeof a);
    for (int i = 0; i < 4; i++) {
        a[i].ordered = 1;
        ctx[i] = &a[i];
    }
    for (int i = 0; i < n; i++)
        CHECK(bw_ingest_add(in, inputs[i], NULL) == BW_OK);
    bw_ingest_run(in, add, ctx, nctx, NULL);
    memset(total, 0, sizeof *total);
    total->ordered = a[0].ordered;
    for (int i = 0; i < nctx; i++) {
        total->n += a[i].n;
        total->sum_ts += a[i].sum_ts;
    }
    if (keep)
        *keep = in;
    else
        bw_ingest_free(in);
    return total->n;
}

int main(void)
{
    char cmd[1024];
    acc seq, par;
    bw_ingest *in;
    const char *one[1];
    snprintf(dir, sizeof dir, "/tmp/bw-test-ingest-%d", (int)getpid());
    mkdir(dir, 0700);

    /* 20,000 rows, every 1,000th malformed: 19,980 records. */
    write_conn("a.log", 20000, 1000);
    one[0] = path("a.log");
    CHECK(run(one, 1, 1, 0, &in, &seq) == 19980);
    CHECK(seq.ordered);
    CHECK(bw_ingest_ndiag(in) == BW_DIAG_PER_FILE);
    CHECK(bw_ingest_diag(in, 0)->line == 1000 + 3); /* 3 header lines */
    bw_ingest_free(in);
    /* Chunked into pieces of ~100 KB across 4 workers: same records, and
     * diagnostics numbered as in the whole file. */
    CHECK(run(one, 1, 4, 100000, &in, &par) == 19980);
    CHECK(par.sum_ts == seq.sum_ts);
    CHECK(bw_ingest_file(in, 0)->skipped[BW_SKIP_BAD_IP] == 20);
    CHECK(bw_ingest_diag(in, 0)->line == 1003);
    CHECK(bw_ingest_diag(in, 1)->line == 2003);
    CHECK(bw_ingest_diag(in, 4)->line == 5003);
    bw_ingest_free(in);

    /* Lines of 100 KB, longer than the 64 KiB a cut looks ahead for a
     * newline, every 2,000 rows: chunks of shrinking size across 2 and 4
     * workers give the records and skips of one worker. */
    {
        FILE *src = fopen(path("a.log"), "r"), *dst = fopen(path("long.log"), "w");
        char line[4096];
        CHECK(src && dst);
        for (long nr = 1; src && dst && fgets(line, sizeof line, src); nr++) {
            if (nr % 2000 == 0) {
                for (int k = 0; k < 100000; k++)
                    putc('x', dst);
                putc('\n', dst);
            }
            fputs(line, dst);
        }
        if (src)
            fclose(src);
        if (dst)
            fclose(dst);
    }
    one[0] = path("long.log");
    {
        acc lseq, lpar;
        bw_file_stats t1, tn;
        CHECK(run(one, 1, 1, 0, &in, &lseq) == 19980 && lseq.sum_ts == seq.sum_ts);
        bw_ingest_totals(in, &t1);
        CHECK(t1.skipped[BW_SKIP_BAD_IP] == 20);
        bw_ingest_free(in);
        for (int nw = 2; nw <= 4; nw += 2) {
            CHECK(run(one, 1, nw, 100000, &in, &lpar) == 19980 && lpar.sum_ts == seq.sum_ts);
            bw_ingest_totals(in, &tn);
            CHECK(memcmp(tn.skipped, t1.skipped, sizeof tn.skipped) == 0);
            bw_ingest_free(in);
        }
    }
    one[0] = path("a.log");

    /* gzip, zstd, multi-member gzip, truncated gzip */
    snprintf(cmd, sizeof cmd,
             "cd %s && gzip -kc a.log > a.log.gz && zstd -q -f a.log -o a.log.zst && "
             "cat a.log.gz a.log.gz > twice.log.gz && head -c 20000 a.log.gz > cut.log.gz",
             dir);
    CHECK(system(cmd) == 0);
    one[0] = path("a.log.gz");
    CHECK(run(one, 1, 2, 0, NULL, &par) == 19980 && par.sum_ts == seq.sum_ts);
    one[0] = path("a.log.zst");
    CHECK(run(one, 1, 2, 0, NULL, &par) == 19980 && par.sum_ts == seq.sum_ts);
    one[0] = path("twice.log.gz");
    CHECK(run(one, 1, 1, 0, NULL, &par) == 2 * 19980);
    one[0] = path("cut.log.gz");
    run(one, 1, 1, 0, &in, &par);
    CHECK(par.n > 1000 && par.n < 19980);
    CHECK(strstr(bw_ingest_file(in, 0)->note, "truncated gzip") != NULL);
    CHECK(bw_ingest_file(in, 0)->error == 0);
    bw_ingest_free(in);

    /* A directory: files in path order (rotation order), non-logs skipped
     * without error, subdirectories walked. */
    snprintf(cmd, sizeof cmd,
             "cd %s && mkdir -p d/2024-01-01 d/2024-01-02 && "
             "cp a.log d/2024-01-02/conn.00:00:00-01:00:00.log && "
             "gzip -c a.log > d/2024-01-01/conn.23:00:00-00:00:00.log.gz && "
             "echo 'just some notes' > d/README.md && : > d/empty.log",
             dir);
    CHECK(system(cmd) == 0);
    one[0] = path("d");
    CHECK(run(one, 1, 1, 0, &in, &par) == 2 * 19980);
    CHECK(bw_ingest_nfiles(in) == 4);
    CHECK(strstr(bw_ingest_file(in, 0)->path, "2024-01-01") != NULL);
    CHECK(strstr(bw_ingest_file(in, 1)->path, "2024-01-02") != NULL);
    {
        bw_file_stats tot;
        bw_ingest_totals(in, &tot);
        CHECK(tot.error == 0);
    }
    bw_ingest_free(in);

    /* Named unsupported file: an error naming the file. */
    {
        bw_errbuf eb = {{0}};
        acc a = {0};
        void *ctx = &a;
        in = bw_ingest_new(NULL);
        CHECK(bw_ingest_add(in, path("d/README.md"), &eb) == BW_OK);
        CHECK(bw_ingest_run(in, add, &ctx, 1, &eb) == BW_ERR_FORMAT);
        CHECK(strstr(eb.msg, "README.md") && strstr(eb.msg, "not a supported format"));
        bw_ingest_free(in);
        in = bw_ingest_new(NULL);
        CHECK(bw_ingest_add(in, path("does-not-exist"), &eb) == BW_ERR_IO);
        bw_ingest_free(in);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return tap_done();
}
