/* `beaconwatch watch`: follows files and directories as they grow and
 * rotate, and runs each rule on its schedule. One cycle = read what is new
 * (complete lines after each file's checkpoint), record it as segments,
 * run the rules that are due over the segments of their window, and
 * commit checkpoints, segments, findings and run times in ONE transaction:
 * a crash at any moment rolls the cycle back and the next start redoes it,
 * so nothing is lost and, with stable finding ids, nothing is repeated. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "beaconwatch/bw_store.h"

#define MAX_RULES 8
#define MAX_SETS 256
#define MAX_FILES 100000
#define MAX_CATCHUP 500 /* scheduled runs per rule per cycle; the rest next cycle */
#define HEADER_MAX (64 * 1024)
#define COPY_BLOCK (1 << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: beaconwatch watch [OPTIONS] INPUT...\n\n"
        "Follows files and directories as they grow and rotate (rename-and-create,\n"
        "copy-and-truncate, new files in watched directories), and runs each rule on\n"
        "its schedule: elastic every hour (window ending on the hour), sentinel and\n"
        "beaconwatch daily (at midnight; beaconwatch over the last three days), each\n"
        "once the clock is a settle delay past that time. Findings,\n"
        "read offsets and run times are committed together, so a crash and restart\n"
        "loses and repeats nothing.\n\n"
        "      --store PATH    the store (default ./" BW_STORE_DEFAULT_PATH ")\n"
        "  -r, --rule R        rules, as for detect (default beaconwatch)\n"
        "  -f, --format F      input format (default auto)\n"
        "      --set K=V       set a rule parameter, as for detect; repeatable\n"
        "      --config FILE   read parameters from a configuration file\n"
        "      --once          run one cycle (read what is new, run what is due) and exit\n"
        "      --interval S    seconds between cycles (default 10)\n"
        "      --clock C       wall (default): schedule by the system clock; data:\n"
        "                      by the latest event time read (replays, tests)\n"
        "      --settle S      settle delay for late events in seconds (default 120)\n"
        "      --sample N      records sampled per group for drilldown (default 10000)\n"
        "      --retain D      delete findings, samples and alerts older than D\n"
        "  -q, --quiet         no per-cycle line on stderr\n"
        "  -h, --help          this text\n\n"
        "Growing files must be line-oriented (Zeek TSV, NDJSON, CSV); .gz/.zst files are\n"
        "read whole once. Standard input cannot be followed. SIGINT/SIGTERM finish the\n"
        "current cycle and exit 0.\n");
}

typedef struct known {
    uint64_t dev, ino;
    int64_t offset;
    int64_t head_len;
    uint64_t head_hash;
} known;

#define HEAD_MAX 256

/* FNV-1a of the file's first n bytes; -1 when it has fewer. */
static int head_hash(int fd, int64_t n, uint64_t *out)
{
    unsigned char b[HEAD_MAX];
    uint64_t h = 0xcbf29ce484222325ull;
    if (n > HEAD_MAX || pread(fd, b, (size_t)n, 0) != (ssize_t)n)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    *out = h;
    return 0;
}

typedef struct watch {
    const char *names[MAX_RULES];
    int nnames;
    const char *config;
    const char *sets[MAX_SETS];
    int nsets;
    bw_ingest_opts io;
    bw_store *store;
    struct stat store_st[3]; /* the store's own files, never followed */
    int data_clock;
    int64_t settle_us;
    uint32_t sample;
    int64_t retain_us;
    int quiet;
    bw_sample_key key;
    /* per cycle */
    known *known;
    size_t nknown, capknown;
    char **files;
    size_t nfiles, capfiles;
    uint64_t new_records, new_bytes, lost_segments, truncated, new_alerts;
    bw_sampler *sampler;
    bw_errbuf eb;
} watch;

static int64_t wall_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_file(watch *w, const char *path)
{
    if (w->nfiles == MAX_FILES)
        return 0; /* counted by the caller's summary: the rest next time */
    if (w->nfiles == w->capfiles) {
        size_t cap = w->capfiles ? 2 * w->capfiles : 64;
        char **nf = realloc(w->files, cap * sizeof *nf);
        if (!nf)
            return -1;
        w->files = nf;
        w->capfiles = cap;
    }
    if (!(w->files[w->nfiles] = strdup(path)))
        return -1;
    w->nfiles++;
    return 0;
}

static int is_store_file(const watch *w, const struct stat *st)
{
    for (int i = 0; i < 3; i++)
        if (w->store_st[i].st_ino && w->store_st[i].st_ino == st->st_ino &&
            w->store_st[i].st_dev == st->st_dev)
            return 1;
    return 0;
}

/* Files under path, recursively; hidden entries skipped. */
static int walk(watch *w, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0; /* vanished between listing and stat: next cycle */
    if (S_ISREG(st.st_mode))
        return is_store_file(w, &st) ? 0 : add_file(w, path);
    if (!S_ISDIR(st.st_mode) || depth > 16)
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int err = 0;
    while (!err && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *p = malloc(n);
        if (!p) {
            err = -1;
            break;
        }
        snprintf(p, n, "%s/%s", path, e->d_name);
        err = walk(w, p, depth + 1);
        free(p);
    }
    closedir(d);
    return err;
}

static int on_offset(void *ctx, const bw_offset *o)
{
    watch *w = ctx;
    if (w->nknown == w->capknown) {
        size_t cap = w->capknown ? 2 * w->capknown : 64;
        known *nk = realloc(w->known, cap * sizeof *nk);
        if (!nk)
            return 1;
        w->known = nk;
        w->capknown = cap;
    }
    w->known[w->nknown++] = (known){o->dev, o->ino, o->offset, o->head_len, o->head_hash};
    return 0;
}

static const known *find_known(const watch *w, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < w->nknown; i++)
        if (w->known[i].dev == dev && w->known[i].ino == ino)
            return &w->known[i];
    return NULL;
}

static int compressed(const unsigned char *b, size_t n)
{
    return (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) ||
           (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd);
}

/* Length of the header a range read from the middle of the file needs:
 * Zeek's leading '#' lines, a CSV's first line, nothing for JSON. */
static size_t header_len(const char *b, size_t n)
{
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    if (i < n && (b[i] == '{' || b[i] == '['))
        return 0;
    if (i < n && b[i] == '#') {
        size_t at = 0;
        while (at < n && b[at] == '#') {
            const char *nl = memchr(b + at, '\n', n - at);
            if (!nl)
                return 0;
            at = (size_t)(nl - b) + 1;
        }
        return at;
    }
    const char *nl = memchr(b, '\n', n);
    return nl ? (size_t)(nl - b) + 1 : 0;
}

/* An anonymous temporary file holding the header of `fd` and its bytes
 * [start, end), cut back to the last complete line; *end_out is the file
 * offset after that line (start when there is none). Returns the
 * temporary's descriptor (read it as /dev/fd/N) or -1. Unlinked at once,
 * so a killed watcher leaves nothing behind. */
static int make_range(int fd, int64_t start, int64_t end, int64_t *end_out)
{
    char tmpl[512];
    const char *td = getenv("TMPDIR");
    char *buf = NULL;
    int t = -1;
    int64_t last_nl = -1;
    *end_out = start;
    snprintf(tmpl, sizeof tmpl, "%s/bw-watch-XXXXXX", td && *td ? td : "/tmp");
    if ((t = mkstemp(tmpl)) < 0)
        return -1;
    unlink(tmpl);
    if (!(buf = malloc(COPY_BLOCK)))
        goto fail;
    size_t hl = 0;
    if (start > 0) {
        ssize_t n = pread(fd, buf, HEADER_MAX, 0);
        if (n < 0)
            goto fail;
        hl = header_len(buf, (size_t)n);
        if (hl && write(t, buf, hl) != (ssize_t)hl)
            goto fail;
    }
    for (int64_t at = start; at < end;) {
        size_t want = (size_t)(end - at < COPY_BLOCK ? end - at : COPY_BLOCK);
        ssize_t n = pread(fd, buf, want, at);
        if (n <= 0)
            break; /* shrank meanwhile: take what was there */
        for (ssize_t i = n - 1; i >= 0; i--)
            if (buf[i] == '\n') {
                last_nl = at + i;
                break;
            }
        if (write(t, buf, (size_t)n) != n)
            goto fail;
        at += n;
    }
    if (last_nl < 0) {
        free(buf);
        close(t);
        return -2; /* no complete line yet */
    }
    if (ftruncate(t, (off_t)hl + (off_t)(last_nl + 1 - start)) != 0)
        goto fail;
    *end_out = last_nl + 1;
    free(buf);
    return t;
fail:
    free(buf);
    if (t >= 0)
        close(t);
    return -1;
}

typedef struct span {
    int64_t min, max;
    uint64_t n;
    bw_sampler *sampler;
} span;

static int on_new_record(void *ctx, const bw_record *r)
{
    span *s = ctx;
    if (r->ts_us < s->min)
        s->min = r->ts_us;
    if (r->ts_us > s->max)
        s->max = r->ts_us;
    s->n++;
    if (s->sampler && bw_sampler_add(s->sampler, r) != BW_OK)
        return 1;
    return 0;
}

/* Ingests one path into fn (one thread, input order). */
static int ingest_one(watch *w, const char *path, bw_record_fn fn, void *ctx)
{
    bw_ingest_opts io = w->io;
    io.threads = 1;
    bw_ingest *in = bw_ingest_new(&io);
    void *c[1] = {ctx};
    int err;
    if (!in)
        return bw_errf(&w->eb, BW_ERR_NOMEM, "out of memory");
    if ((err = bw_ingest_add(in, path, &w->eb)) == BW_OK)
        err = bw_ingest_run(in, fn, c, 1, &w->eb);
    bw_ingest_free(in);
    /* A file of no supported format is remembered as read (never retried). */
    return err == BW_ERR_FORMAT ? 0 : err;
}

/* Reads what is new in one file: a segment plus its checkpoint. */
static int follow(watch *w, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), t = -1, err = 0;
    struct stat st;
    unsigned char magic[4];
    char dev_path[64];
    if (fd < 0)
        return 0; /* rotated away between listing and open */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    const known *k = find_known(w, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    int64_t off = k ? k->offset : 0, end = off, size = (int64_t)st.st_size;
    uint64_t hh = 0;
    if (k && (off > size || head_hash(fd, k->head_len, &hh) != 0 || hh != k->head_hash)) {
        /* Truncated (copy-and-truncate), rewritten, or a reused inode: a
         * new file; the old segments' bytes are gone. */
        if ((err = bw_store_del_segments(w->store, k->dev, k->ino, &w->eb)))
            goto out;
        k = NULL;
        off = end = 0;
        w->truncated++;
    }
    int64_t hl = k ? k->head_len : (size < HEAD_MAX ? size : HEAD_MAX);
    if (!k && head_hash(fd, hl, &hh) != 0)
        goto out; /* shrank meanwhile: next cycle */
    if (k)
        hh = k->head_hash;
    ssize_t mn = pread(fd, magic, sizeof magic, 0);
    span sp = {INT64_MAX, INT64_MIN, 0, w->sampler};
    if (mn > 0 && compressed(magic, (size_t)mn)) {
        /* Compressed logs are written once, when rotated: read them whole
         * the first time they are seen. */
        if (k && off > 0)
            goto checkpoint;
        snprintf(dev_path, sizeof dev_path, "/dev/fd/%d", fd);
        if ((err = ingest_one(w, dev_path, on_new_record, &sp)))
            goto out;
        off = 0;
        end = size;
    } else if (size > off) {
        t = make_range(fd, off, size, &end);
        if (t == -2) {
            end = off; /* only a partial line so far */
            goto checkpoint;
        }
        if (t < 0) {
            err = bw_errf(&w->eb, BW_ERR_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
        snprintf(dev_path, sizeof dev_path, "/dev/fd/%d", t);
        if ((err = ingest_one(w, dev_path, on_new_record, &sp)))
            goto out;
    } else {
        goto checkpoint;
    }
    w->new_bytes += (uint64_t)(end - off);
    if (sp.n) {
        bw_segment g = {(uint64_t)st.st_dev, (uint64_t)st.st_ino, off, end, sp.min, sp.max,
                        sp.n, NULL};
        if ((err = bw_store_put_segment(w->store, &g, &w->eb)))
            goto out;
        w->new_records += sp.n;
    }
checkpoint:;
    /* A file first seen shorter than HEAD_MAX gets its head re-taken once
     * it is longer; until then its short head is what is compared. */
    if (hl < HEAD_MAX && size > hl && head_hash(fd, size < HEAD_MAX ? size : HEAD_MAX, &hh) == 0)
        hl = size < HEAD_MAX ? size : HEAD_MAX;
    bw_offset o = {(uint64_t)st.st_dev, (uint64_t)st.st_ino, path, end, size, wall_us(), hl,
                   hh};
    err = bw_store_put_offset(w->store, &o, &w->eb);
out:
    if (t >= 0)
        close(t);
    close(fd);
    return err;
}

/* --- scheduled rule runs -------------------------------------------- */

typedef struct run_ctx {
    watch *w;
    bw_rule *rule;
    int64_t ingested;
    uint64_t nfindings;
    int err;
} run_ctx;

static int feed_rule(void *ctx, const bw_record *r)
{
    run_ctx *c = ctx;
    return bw_rule_add(c->rule, r) != BW_OK;
}

static int on_finding(void *ctx, const bw_finding *f)
{
    run_ctx *c = ctx;
    if (bw_store_put_finding(c->w->store, f, c->ingested, &c->w->eb) != BW_OK) {
        c->err = BW_ERR_STORE;
        return 1;
    }
    c->nfindings++;
    return 0;
}

/* A segment of the window: re-read from its file, if the file is still
 * there under its last known name with the same identity. */
static int on_segment(void *ctx, const bw_segment *g)
{
    run_ctx *c = ctx;
    watch *w = c->w;
    struct stat st;
    char dev_path[64];
    int fd, t = -1, err = 0;
    int64_t end;
    unsigned char magic[4];
    if (!g->path[0] || (fd = open(g->path, O_RDONLY | O_CLOEXEC)) < 0) {
        w->lost_segments++;
        return 0;
    }
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != g->dev ||
        (uint64_t)st.st_ino != g->ino || st.st_size < g->end) {
        w->lost_segments++; /* deleted, or truncated since */
        close(fd);
        return 0;
    }
    ssize_t mn = pread(fd, magic, sizeof magic, 0);
    if (mn > 0 && compressed(magic, (size_t)mn)) {
        snprintf(dev_path, sizeof dev_path, "/dev/fd/%d", fd);
    } else {
        if ((t = make_range(fd, g->start, g->end, &end)) < 0) {
            close(fd);
            w->lost_segments++;
            return 0;
        }
        snprintf(dev_path, sizeof dev_path, "/dev/fd/%d", t);
    }
    err = ingest_one(w, dev_path, feed_rule, c);
    if (t >= 0)
        close(t);
    close(fd);
    if (err) {
        c->err = err;
        return 1;
    }
    return 0;
}

/* Looks up "key = value" in a rule's parameter text. */
static int param(const bw_rule *r, const char *key, char *out, size_t cap)
{
    char buf[8192];
    bw_rule_params(r, buf, sizeof buf);
    size_t kl = strlen(key);
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, key, kl) == 0 && strncmp(line + kl, " = ", 3) == 0) {
            snprintf(out, cap, "%s", line + kl + 3);
            return 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    return -1;
}

/* How much data before `now` a run of the rule looks at. */
static int64_t lookback_us(const bw_rule *r)
{
    char v[64];
    int64_t d;
    if (strcmp(bw_rule_name(r), "elastic") == 0) {
        char n[64];
        if (param(r, "time_bucket_length", v, sizeof v) == 0 &&
            param(r, "number_buckets_in_range", n, sizeof n) == 0)
            return (int64_t)atoll(v) * atoll(n) * 1000000;
        return (int64_t)6 * 3600 * 1000000;
    }
    if (param(r, "window_start", v, sizeof v) == 0 && cli_parse_duration(v, &d) == 0)
        return d + (int64_t)86400 * 1000000; /* day-aligned presets reach back a day more */
    return (int64_t)3 * 86400 * 1000000;
}

static int64_t period_us(const char *rule)
{
    return strcmp(rule, "elastic") == 0 ? (int64_t)3600 * 1000000 : (int64_t)86400 * 1000000;
}

/* Runs rule i once for data time `now` over the segments of its window. */
static int run_rule(watch *w, int i, int64_t now, int64_t *nfindings)
{
    bw_rule *rules[MAX_RULES] = {0};
    bw_ingest_opts io = w->io;
    run_ctx c;
    int err = 0;
    memset(&c, 0, sizeof c);
    c.w = w;
    if (cli_rules_setup(w->names, w->nnames, w->config, w->sets, w->nsets, rules, &io) != 0) {
        err = bw_errf(&w->eb, BW_ERR_CONFIG, "rule setup failed");
        goto out;
    }
    c.rule = rules[i];
    if (strcmp(w->names[i], "elastic") == 0) {
        char t[48];
        snprintf(t, sizeof t, "%lld", (long long)(now / 1000000));
        if ((err = bw_rule_set(c.rule, "now", t, &w->eb)))
            goto out;
    }
    c.ingested = w->data_clock ? now : wall_us();
    if ((err = bw_store_segments(w->store, now - lookback_us(c.rule), now, on_segment, &c,
                                 &w->eb))) {
        if (c.err)
            err = c.err;
        goto out;
    }
    bw_run run = {now, BW_UNSET, BW_UNSET, c.ingested, 0};
    if ((err = bw_rule_finish(c.rule, &run, on_finding, &c, &w->eb))) {
        if (c.err)
            err = c.err;
        goto out;
    }
    if ((err = bw_store_put_run(w->store, w->names[i], wall_us(), now, c.nfindings, &w->eb)))
        goto out;
    *nfindings = (int64_t)c.nfindings;
    {
        /* The alert rules right after the run, at its ingest time: the
         * prebuilt rules run every 5 minutes, so each run's findings are
         * within their hour of event.ingested. */
        uint64_t added = 0;
        bw_alert_opts ao = {c.ingested, strcmp(w->names[i], "elastic") == 0,
                            strncmp(w->names[i], "sentinel", 8) == 0, 100, 1,
                            strcmp(w->names[i], "beaconwatch") == 0};
        err = bw_alerts_run(w->store, &ao, NULL, NULL, &added, NULL, &w->eb);
        w->new_alerts += added;
    }
out:
    for (int k = 0; k < w->nnames; k++)
        bw_rule_free(rules[k]);
    return err;
}

static int64_t floor_to(int64_t t, int64_t p)
{
    int64_t q = t / p;
    if (t % p < 0)
        q--;
    return q * p;
}

/* One cycle; everything it writes is one transaction. */
static int cycle(watch *w, char **inputs, int ninputs)
{
    int err = 0, tx = 0;
    int64_t tmin, tmax, clock;
    char line[1024];
    size_t ll = 0;
    for (size_t i = 0; i < w->nfiles; i++)
        free(w->files[i]);
    w->nknown = w->nfiles = 0;
    w->new_records = w->new_bytes = w->lost_segments = w->truncated = w->new_alerts = 0;
    for (int i = 0; i < ninputs; i++)
        if (walk(w, inputs[i], 0) != 0)
            return bw_errf(&w->eb, BW_ERR_NOMEM, "out of memory");
    qsort(w->files, w->nfiles, sizeof *w->files, cmp_str);
    if (w->sample &&
        !(w->sampler = bw_sampler_new(w->key, w->sample, 200000, 1000000)))
        return bw_errf(&w->eb, BW_ERR_NOMEM, "out of memory");
    if ((err = bw_store_begin(w->store, &w->eb)))
        goto out;
    tx = 1;
    if ((err = bw_store_offsets(w->store, on_offset, w, &w->eb)))
        goto out;
    for (size_t i = 0; i < w->nfiles; i++)
        if ((err = follow(w, w->files[i])))
            goto out;
    if (w->sampler && (err = bw_store_put_sample(w->store, w->sampler, w->sample, NULL, &w->eb)))
        goto out;
    if ((err = bw_store_time_range(w->store, &tmin, &tmax, &w->eb)))
        goto out;
    clock = w->data_clock ? tmax : wall_us();
    ll = (size_t)snprintf(line, sizeof line, "watch: %zu files, %llu new records (%llu bytes)",
                          w->nfiles, (unsigned long long)w->new_records,
                          (unsigned long long)w->new_bytes);
    for (int i = 0; clock != BW_UNSET && tmin != BW_UNSET && i < w->nnames; i++) {
        int64_t p = period_us(w->names[i]), last, t, nf = 0, total = 0;
        int nruns = 0;
        if ((err = bw_store_last_run(w->store, w->names[i], &last, &w->eb)))
            goto out;
        /* The first run is the first boundary after the earliest data,
         * but no more than a window before the clock. */
        t = last != BW_UNSET ? last + p : floor_to(tmin, p) + p;
        if (last == BW_UNSET && t < floor_to(clock - (int64_t)7 * 86400 * 1000000, p))
            t = floor_to(clock - (int64_t)7 * 86400 * 1000000, p);
        for (; t + w->settle_us <= clock && nruns < MAX_CATCHUP && !stop; t += p, nruns++) {
            if ((err = run_rule(w, i, t, &nf)))
                goto out;
            total += nf;
        }
        if (nruns && ll < sizeof line)
            ll += (size_t)snprintf(line + ll, sizeof line - ll, "; %s: %d run%s, %lld findings",
                                   w->names[i], nruns, nruns == 1 ? "" : "s", (long long)total);
    }
    if (w->new_alerts && ll < sizeof line)
        ll += (size_t)snprintf(line + ll, sizeof line - ll, "; %llu new alerts",
                               (unsigned long long)w->new_alerts);
    if (w->retain_us != BW_UNSET && clock != BW_UNSET &&
        (err = bw_store_retain(w->store, clock - w->retain_us, NULL, NULL, NULL, &w->eb)))
        goto out;
    tx = 0;
    err = bw_store_commit(w->store, &w->eb);
    if (!err && !w->quiet) {
        if (w->truncated && ll < sizeof line)
            ll += (size_t)snprintf(line + ll, sizeof line - ll, "; %llu truncated",
                                   (unsigned long long)w->truncated);
        if (w->lost_segments && ll < sizeof line)
            snprintf(line + ll, sizeof line - ll, "; %llu segments gone (files deleted)",
                     (unsigned long long)w->lost_segments);
        fprintf(stderr, "%s\n", line);
    }
out:
    if (tx)
        bw_store_rollback(w->store);
    bw_sampler_free(w->sampler);
    w->sampler = NULL;
    return err;
}

static int add_rule_names(watch *w, const char *arg)
{
    char buf[256];
    const char *const *all = bw_rule_names();
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (strcmp(tok, "all") == 0) {
            if (add_rule_names(w, "elastic") || add_rule_names(w, "sentinel") ||
                add_rule_names(w, "beaconwatch"))
                return -1;
            continue;
        }
        int found = 0;
        for (int i = 0; all[i]; i++)
            if (strcmp(all[i], tok) == 0) {
                found = 1;
                int dup = 0;
                for (int j = 0; j < w->nnames; j++)
                    dup |= strcmp(w->names[j], all[i]) == 0;
                if (!dup && w->nnames < MAX_RULES)
                    w->names[w->nnames++] = all[i];
            }
        if (!found) {
            cli_err("unknown rule '%s'", tok);
            return -1;
        }
    }
    return 0;
}

int bw_cmd_watch(int argc, char **argv)
{
    enum { O_STORE = 256, O_SET, O_CONFIG, O_ONCE, O_INTERVAL, O_CLOCK, O_SETTLE, O_SAMPLE,
           O_RETAIN };
    static const struct option opts[] = {
        {"store", required_argument, NULL, O_STORE}, {"rule", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'},    {"set", required_argument, NULL, O_SET},
        {"config", required_argument, NULL, O_CONFIG}, {"once", no_argument, NULL, O_ONCE},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"clock", required_argument, NULL, O_CLOCK}, {"settle", required_argument, NULL, O_SETTLE},
        {"sample", required_argument, NULL, O_SAMPLE},
        {"retain", required_argument, NULL, O_RETAIN}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    watch w;
    const char *path = BW_STORE_DEFAULT_PATH;
    int c, rc = BW_EXIT_OK, once = 0;
    uint64_t n;
    int64_t interval_us = 10 * 1000000LL;
    memset(&w, 0, sizeof w);
    w.settle_us = 120 * 1000000LL;
    w.sample = 10000;
    w.retain_us = BW_UNSET;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:f:qh", opts, NULL)) != -1) {
        switch (c) {
        case O_STORE: path = optarg; break;
        case 'r':
            if (add_rule_names(&w, optarg) != 0)
                return BW_EXIT_USAGE;
            break;
        case 'f':
            if (bw_format_parse(optarg, &w.io.format) != 0) {
                cli_err("unknown format '%s' (see 'beaconwatch formats')", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case O_SET:
            if (w.nsets >= MAX_SETS) {
                cli_err("too many --set options");
                return BW_EXIT_USAGE;
            }
            w.sets[w.nsets++] = optarg;
            break;
        case O_CONFIG: w.config = optarg; break;
        case O_ONCE: once = 1; break;
        case O_INTERVAL:
        case O_SETTLE:
            if (cli_parse_count(optarg, &n) != 0 || n > 86400 || (c == O_INTERVAL && !n)) {
                cli_err("%s %s: expected seconds", c == O_INTERVAL ? "--interval" : "--settle",
                        optarg);
                return BW_EXIT_USAGE;
            }
            if (c == O_INTERVAL)
                interval_us = (int64_t)n * 1000000;
            else
                w.settle_us = (int64_t)n * 1000000;
            break;
        case O_CLOCK:
            if (strcmp(optarg, "wall") == 0) w.data_clock = 0;
            else if (strcmp(optarg, "data") == 0) w.data_clock = 1;
            else {
                cli_err("--clock %s: expected wall or data", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case O_SAMPLE:
            if (strcmp(optarg, "0") == 0) {
                w.sample = 0;
            } else if (cli_parse_count(optarg, &n) != 0 || n > 1000000) {
                cli_err("--sample %s: expected a count from 0 to 1000000", optarg);
                return BW_EXIT_USAGE;
            } else {
                w.sample = (uint32_t)n;
            }
            break;
        case O_RETAIN:
            if (cli_parse_duration(optarg, &w.retain_us) != 0) {
                cli_err("--retain %s: expected a duration such as 30d", optarg);
                return BW_EXIT_USAGE;
            }
            break;
        case 'q': w.quiet = 1; break;
        case 'h': usage(stdout); return BW_EXIT_OK;
        default: usage(stderr); return BW_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_err("watch: no INPUT given");
        return BW_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (strcmp(argv[i], "-") == 0) {
            cli_err("watch: standard input cannot be followed (its bytes cannot be re-read "
                    "after a restart); use detect, or write it to a file");
            return BW_EXIT_USAGE;
        }
        if (stat(argv[i], &st) != 0) {
            cli_err("%s: %s", argv[i], strerror(errno));
            return BW_EXIT_FAIL;
        }
    }
    if (w.nnames == 0)
        w.names[w.nnames++] = "beaconwatch";
    {
        /* Check the configuration once up front: usage errors exit 2. */
        bw_rule *probe[MAX_RULES] = {0};
        bw_ingest_opts io = w.io;
        rc = cli_rules_setup(w.names, w.nnames, w.config, w.sets, w.nsets, probe, &io);
        w.key = BW_SAMPLE_SRC_DST_PORT;
        for (int i = 0; !rc && i < w.nnames; i++)
            if (strcmp(w.names[i], "elastic") == 0) {
                char g[32];
                w.key = BW_SAMPLE_HOST_PROCESS;
                if (param(probe[i], "group_by", g, sizeof g) == 0)
                    bw_sample_key_parse(g, &w.key);
            }
        for (int i = 0; i < w.nnames; i++)
            bw_rule_free(probe[i]);
        if (rc)
            return rc;
        w.io.format = io.format;
    }
    if ((rc = cli_store_open(path, 0, &w.store)) != 0)
        return rc;
    {
        char p2[4096];
        stat(path, &w.store_st[0]);
        snprintf(p2, sizeof p2, "%s-wal", path);
        stat(p2, &w.store_st[1]);
        snprintf(p2, sizeof p2, "%s-shm", path);
        stat(p2, &w.store_st[2]);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (;;) {
        if (cycle(&w, argv + optind, argc - optind) != BW_OK) {
            cli_err("%s", w.eb.msg);
            rc = BW_EXIT_FAIL;
            break;
        }
        if (once || stop)
            break;
        for (int64_t slept = 0; slept < interval_us && !stop; slept += 100000) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
        if (stop)
            break;
    }
    for (size_t i = 0; i < w.nfiles; i++)
        free(w.files[i]);
    free(w.files);
    free(w.known);
    bw_store_close(w.store);
    return rc;
}
