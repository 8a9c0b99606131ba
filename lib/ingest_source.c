/* The ingest driver: expands inputs into a file list, opens each file
 * (mmap for plain files, a decompressing stream otherwise), detects its
 * format, splits large line-delimited files into chunks for parallel
 * workers, and merges the per-chunk accounting back per file. */
#include "ingest_reader.h"
#include "ingest_stream.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNIFF_BYTES (64 * 1024)
#define SNIFF_MIN 30             /* below this confidence: not the format */
#define CHUNK_MIN (32u << 20)    /* split plain files from this size on */
#define STREAM_BLOCK (4u << 20)  /* decompressed block for streamed input */
#define MAX_FILES 1000000        /* cap on files from directory walks */

typedef struct in_file {
    char *path;
    int explicit_path; /* named by the user (vs found in a directory) */
    bw_file_stats st;
    bw_diag diag[BW_DIAG_PER_FILE];
    int ndiag;
} in_file;

struct bw_ingest {
    bw_ingest_opts opts;
    in_file *files;
    int nfiles, capfiles;
    bw_diag *diags; /* flattened view for bw_ingest_diag, built after run */
    int ndiags;
};

/* ---- formats ---------------------------------------------------------- */

static const bw_reader *const readers[] = {
    &bw_reader_zeek, &bw_reader_zeek_json, &bw_reader_ecs,
    &bw_reader_asim_csv, &bw_reader_asim_json, &bw_reader_eve,
};
#define NREADERS ((int)(sizeof readers / sizeof readers[0]))

const bw_reader *bw_reader_get(bw_format f)
{
    for (int i = 0; i < NREADERS; i++)
        if (readers[i]->format == f)
            return readers[i];
    return NULL;
}

const char *bw_format_name(bw_format f)
{
    const bw_reader *r = bw_reader_get(f);
    return r ? r->name : "auto";
}

int bw_format_parse(const char *name, bw_format *out)
{
    if (strcmp(name, "auto") == 0) {
        *out = BW_FMT_AUTO;
        return 0;
    }
    for (int i = 0; i < NREADERS; i++)
        if (strcmp(readers[i]->name, name) == 0) {
            *out = readers[i]->format;
            return 0;
        }
    return -1;
}

const char *bw_format_describe(bw_format f)
{
    const bw_reader *r = bw_reader_get(f);
    return r ? r->describe : "detect the format of each file from its first bytes";
}

static const char *const skip_names[BW_SKIP__COUNT] = {
    [BW_SKIP_SYNTAX] = "syntax error",
    [BW_SKIP_TOO_LONG] = "line too long",
    [BW_SKIP_COLUMNS] = "wrong number of columns",
    [BW_SKIP_NO_TIME] = "no timestamp",
    [BW_SKIP_BAD_TIME] = "bad timestamp",
    [BW_SKIP_BAD_IP] = "bad address",
    [BW_SKIP_BAD_NUMBER] = "bad number",
    [BW_SKIP_TRUNCATED] = "truncated record at end of input",
    [BW_SKIP_NOT_SESSION] = "not a session record",
};

const char *bw_skip_name(bw_skip s)
{
    return (unsigned)s < BW_SKIP__COUNT ? skip_names[s] : "unknown";
}

/* ---- the reader-side helpers (ingest_reader.h) ------------------------- */

void bw_parse_skip(bw_parse *p, bw_skip why, uint64_t line, const char *detail,
                   size_t detail_len)
{
    p->st->skipped[why]++;
    if (why >= BW_SKIP__MALFORMED_END || p->ndiag >= BW_DIAG_PER_FILE)
        return;
    bw_diag *d = &p->diag[p->ndiag++];
    d->file = p->file;
    d->line = line;
    d->reason = why;
    if (detail_len >= sizeof d->detail)
        detail_len = sizeof d->detail - 1;
    size_t k = 0;
    for (size_t i = 0; i < detail_len; i++) /* keep the message printable */
        d->detail[k++] = detail[i] == '\t'                          ? ' '
                         : (detail[i] >= 0x20 && detail[i] < 0x7f) ? detail[i]
                                                                   : '?';
    d->detail[k] = 0;
}

int bw_parse_emit(bw_parse *p, const bw_record *r)
{
    p->st->records++;
    if (p->emit && p->emit(p->emit_ctx, r) != 0)
        p->stopped = 1;
    return p->stopped;
}

char *bw_parse_scratch_put(bw_parse *p, const char *s, size_t n)
{
    if (n > p->scratch_cap - p->scratch_len)
        return NULL;
    char *dst = p->scratch + p->scratch_len;
    memcpy(dst, s, n);
    p->scratch_len += n;
    return dst;
}

void bw_parse_scratch_reset(bw_parse *p)
{
    p->scratch_len = 0;
}

/* ---- the file list ---------------------------------------------------- */

bw_ingest *bw_ingest_new(const bw_ingest_opts *opts)
{
    bw_ingest *in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    if (opts)
        in->opts = *opts;
    if (in->opts.threads <= 0)
        in->opts.threads = bw_cpu_count();
    if (in->opts.max_record == 0)
        in->opts.max_record = 1u << 20;
    return in;
}

void bw_ingest_free(bw_ingest *in)
{
    if (!in)
        return;
    for (int i = 0; i < in->nfiles; i++)
        free(in->files[i].path);
    free(in->files);
    free(in->diags);
    free(in);
}

int bw_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

static int push_file(bw_ingest *in, const char *path, int explicit_path, bw_errbuf *eb)
{
    if (in->nfiles >= MAX_FILES)
        return bw_errf(eb, BW_ERR_LIMIT, "%s: more than %d input files", path, MAX_FILES);
    if (in->nfiles == in->capfiles) {
        int cap = in->capfiles ? in->capfiles * 2 : 16;
        in_file *f = realloc(in->files, (size_t)cap * sizeof *f);
        if (!f)
            return bw_errf(eb, BW_ERR_NOMEM, "out of memory");
        in->files = f;
        in->capfiles = cap;
    }
    in_file *f = &in->files[in->nfiles];
    memset(f, 0, sizeof *f);
    if (!(f->path = strdup(path)))
        return bw_errf(eb, BW_ERR_NOMEM, "out of memory");
    f->explicit_path = explicit_path;
    f->st.path = f->path;
    in->nfiles++;
    return BW_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the regular files below dir in path order. Names starting with '.'
 * are skipped (editor and rsync temporaries). */
static int walk_dir(bw_ingest *in, const char *dir, int depth, bw_errbuf *eb)
{
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = BW_OK;
    if (depth > 32)
        return bw_errf(eb, BW_ERR_LIMIT, "%s: directories nested too deep", dir);
    if (!(d = opendir(dir)))
        return bw_errf(eb, BW_ERR_IO, "%s: %s", dir, strerror(errno));
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) {
                rc = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
                goto out;
            }
            names = nn;
            cap = nc;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            rc = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
            goto out;
        }
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && rc == BW_OK; i++) {
        struct stat st;
        if (stat(names[i], &st) != 0)
            continue; /* vanished or dangling link: nothing to read */
        if (S_ISDIR(st.st_mode))
            rc = walk_dir(in, names[i], depth + 1, eb);
        else if (S_ISREG(st.st_mode))
            rc = push_file(in, names[i], 0, eb);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int bw_ingest_add(bw_ingest *in, const char *path, bw_errbuf *eb)
{
    struct stat st;
    if (strcmp(path, "-") == 0)
        return push_file(in, "-", 1, eb);
    if (stat(path, &st) != 0)
        return bw_errf(eb, BW_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return walk_dir(in, path, 0, eb);
    return push_file(in, path, 1, eb);
}

int bw_ingest_nfiles(const bw_ingest *in)
{
    return in->nfiles;
}

const bw_file_stats *bw_ingest_file(const bw_ingest *in, int i)
{
    return i >= 0 && i < in->nfiles ? &in->files[i].st : NULL;
}

int bw_ingest_ndiag(const bw_ingest *in)
{
    return in->ndiags;
}

const bw_diag *bw_ingest_diag(const bw_ingest *in, int i)
{
    return i >= 0 && i < in->ndiags ? &in->diags[i] : NULL;
}

void bw_ingest_totals(const bw_ingest *in, bw_file_stats *out)
{
    memset(out, 0, sizeof *out);
    out->path = "total";
    for (int i = 0; i < in->nfiles; i++) {
        const bw_file_stats *s = &in->files[i].st;
        out->bytes += s->bytes;
        out->records += s->records;
        for (int k = 0; k < BW_SKIP__COUNT; k++)
            out->skipped[k] += s->skipped[k];
        if (s->error && !out->error)
            out->error = s->error;
    }
}

/* ---- opening and detecting -------------------------------------------- */

/* An opened file: either fully mapped (plain regular file) or a stream
 * with its first decompressed bytes already in buf. */
typedef struct opened {
    int fd;
    const char *map; /* mmap of the whole plain file, or NULL */
    size_t maplen;
    bw_stream *stream;
    char *buf; /* streamed input buffer, STREAM_BLOCK + max_record */
    size_t buflen, bufcap;
    int eof;
    const bw_reader *reader;
    int is_open;
} opened;

static void close_opened(opened *o)
{
    if (o->map && o->maplen)
        munmap((void *)o->map, o->maplen);
    bw_stream_free(o->stream);
    free(o->buf);
    if (o->fd >= 0)
        close(o->fd);
    memset(o, 0, sizeof *o);
    o->fd = -1;
}

/* A data line of tab-separated values starting with an epoch time: what
 * Zeek writes, minus its header (as `zeek-cut` or `tail` leave it). */
static int headerless_tsv(const char *b, size_t n)
{
    const char *nl = memchr(b, '\n', n);
    size_t len = nl ? (size_t)(nl - b) : n;
    int tabs = 0;
    for (size_t i = 0; i < len; i++)
        tabs += b[i] == '\t';
    return tabs >= 8 && len && b[0] >= '0' && b[0] <= '9';
}

static const bw_reader *detect(const char *buf, size_t n, int *best_score)
{
    const bw_reader *best = NULL;
    int bs = 0;
    for (int i = 0; i < NREADERS; i++) {
        int s = readers[i]->sniff(buf, n);
        if (s > bs) {
            bs = s;
            best = readers[i];
        }
    }
    *best_score = bs;
    return bs >= SNIFF_MIN ? best : NULL;
}

/* Fills o->buf from the stream until it holds at least `want` bytes or
 * the stream ends. Returns -1 on a read error. */
static int stream_fill(opened *o, size_t want)
{
    while (!o->eof && o->buflen < want && o->buflen < o->bufcap) {
        long r = bw_stream_read(o->stream, o->buf + o->buflen, o->bufcap - o->buflen);
        if (r < 0)
            return -1;
        if (r == 0)
            o->eof = 1;
        o->buflen += (size_t)r;
    }
    return 0;
}

static int open_file(bw_ingest *in, in_file *f, opened *o, bw_errbuf *eb)
{
    struct stat st;
    uint8_t head[4];
    size_t nhead = 0;
    memset(o, 0, sizeof *o);
    o->fd = -1;
    if (strcmp(f->path, "-") == 0) {
        o->fd = dup(0);
    } else {
        o->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    }
    if (o->fd < 0)
        return bw_errf(eb, BW_ERR_IO, "%s: %s", f->path, strerror(errno));
    o->is_open = 1;
    if (fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size < ((uint64_t)1 << 46)) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, o->fd, 0);
        if (m != MAP_FAILED) {
            const uint8_t *b = m;
            int compressed = st.st_size >= 4 &&
                             ((b[0] == 0x1f && b[1] == 0x8b) ||
                              (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd));
            if (!compressed) {
                madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
                o->map = m;
                o->maplen = (size_t)st.st_size;
                return BW_OK;
            }
            munmap(m, (size_t)st.st_size);
        }
    }
    /* Streamed: read the magic, then wrap. */
    while (nhead < sizeof head) {
        ssize_t r = read(o->fd, head + nhead, sizeof head - nhead);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return bw_errf(eb, BW_ERR_IO, "%s: %s", f->path, strerror(errno));
        if (r == 0)
            break;
        nhead += (size_t)r;
    }
    o->bufcap = STREAM_BLOCK + in->opts.max_record;
    if (!(o->stream = bw_stream_new(o->fd, head, nhead)) || !(o->buf = malloc(o->bufcap)))
        return bw_errf(eb, BW_ERR_NOMEM, "out of memory");
    if (stream_fill(o, SNIFF_BYTES) != 0)
        return bw_errf(eb, BW_ERR_IO, "%s: %s", f->path, strerror(errno));
    return BW_OK;
}

/* ---- work items and workers ------------------------------------------- */

typedef struct item {
    int file;
    int chunk;            /* 0 for the first (or only) piece of a file */
    size_t begin, end;    /* byte range for mapped files */
    opened *o;            /* shared by the chunks of one file */
    bw_file_stats st;     /* this piece's counters */
    bw_diag diag[BW_DIAG_PER_FILE];
    int ndiag;
    uint64_t lines;       /* newlines consumed, to renumber later chunks */
    int err;
    char note[256];
} item;

typedef struct run_ctx {
    bw_ingest *in;
    item *items;
    int nitems;
    int next;
    pthread_mutex_t mu;
    bw_record_fn fn;
    int stop;
} run_ctx;

static int parse_init(bw_parse *p, run_ctx *rc, item *it, void *ectx)
{
    in_file *f = &rc->in->files[it->file];
    memset(p, 0, sizeof *p);
    p->path = f->path;
    p->file = it->file;
    p->line = 1;
    p->max_record = rc->in->opts.max_record;
    p->st = &it->st;
    p->emit = rc->fn;
    p->emit_ctx = ectx;
    p->scratch_cap = (size_t)p->max_record + 64;
    if (!(p->scratch = malloc(p->scratch_cap)))
        return BW_ERR_NOMEM;
    return it->o->reader->init ? it->o->reader->init(p) : BW_OK;
}

static void parse_fini(bw_parse *p, item *it)
{
    if (it->o->reader->fini)
        it->o->reader->fini(p);
    free(p->scratch);
    memcpy(it->diag, p->diag, sizeof p->diag);
    it->ndiag = p->ndiag;
}

static uint64_t count_nl(const char *s, size_t n)
{
    uint64_t c = 0;
    const char *end = s + n;
    while (s < end && (s = memchr(s, '\n', (size_t)(end - s)))) {
        c++;
        s++;
    }
    return c;
}

/* A file the reader recognized as another kind of log: skipped; an error
 * only when the user named the file itself. */
static int reject(run_ctx *rc, item *it, const bw_parse *p)
{
    if (!p->reject)
        return 0;
    snprintf(it->note, sizeof it->note, "skipped: %s", p->reject);
    if (rc->in->files[it->file].explicit_path)
        it->err = BW_ERR_FORMAT;
    return 1;
}

/* One piece of a mapped file. */
static void run_mapped(run_ctx *rc, item *it, void *ectx)
{
    bw_parse p;
    const bw_reader *r = it->o->reader;
    const char *base = it->o->map;
    if ((it->err = parse_init(&p, rc, it, ectx)) != BW_OK)
        goto out;
    size_t h = r->header ? r->header(&p, base, it->chunk == 0 ? it->end : it->o->maplen) : 0;
    if (reject(rc, it, &p))
        goto out;
    size_t from = it->begin;
    if (it->chunk == 0) {
        from = h;
        p.line = 1 + count_nl(base, h);
    } else {
        p.line = 1;
    }
    it->st.bytes = it->end - it->begin;
    if (from < it->end)
        r->feed(&p, base + from, it->end - from, 1);
    it->lines = p.line - 1;
    if (p.stopped)
        rc->stop = 1;
out:
    parse_fini(&p, it);
}

/* A streamed (compressed or pipe) file, in blocks. */
static void run_streamed(run_ctx *rc, item *it, void *ectx)
{
    bw_parse p;
    opened *o = it->o;
    const bw_reader *r = o->reader;
    size_t pos;
    if ((it->err = parse_init(&p, rc, it, ectx)) != BW_OK)
        goto out;
    pos = r->header ? r->header(&p, o->buf, o->buflen) : 0;
    if (reject(rc, it, &p))
        goto out;
    p.line = 1 + count_nl(o->buf, pos);
    it->st.bytes = 0;
    for (;;) {
        size_t avail = o->buflen - pos;
        size_t used = r->feed(&p, o->buf + pos, avail, o->eof);
        pos += used;
        if (p.stopped || o->eof)
            break;
        /* Keep the unconsumed tail, then read more. */
        it->st.bytes += pos;
        memmove(o->buf, o->buf + pos, o->buflen - pos);
        o->buflen -= pos;
        pos = 0;
        if (o->buflen >= o->bufcap - 1) {
            /* No newline in a whole buffer: drop through the next one. */
            bw_parse_skip(&p, BW_SKIP_TOO_LONG, p.line, "", 0);
            o->buflen = 0;
            for (;;) {
                if (stream_fill(o, 1) != 0 || o->buflen == 0)
                    break;
                char *nl = memchr(o->buf, '\n', o->buflen);
                if (nl) {
                    size_t k = (size_t)(nl - o->buf) + 1;
                    memmove(o->buf, o->buf + k, o->buflen - k);
                    o->buflen -= k;
                    p.line++;
                    break;
                }
                o->buflen = 0;
            }
        }
        if (stream_fill(o, o->bufcap) != 0) {
            it->err = BW_ERR_IO;
            snprintf(it->note, sizeof it->note, "read error: %s", strerror(errno));
            break;
        }
    }
    it->st.bytes += pos;
    if (!it->err && bw_stream_problem(o->stream))
        snprintf(it->note, sizeof it->note, "%s; read what came before it",
                 bw_stream_problem(o->stream));
    if (p.stopped)
        rc->stop = 1;
out:
    parse_fini(&p, it);
}

typedef struct worker {
    run_ctx *rc;
    void *ectx;
    pthread_t tid;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    run_ctx *rc = w->rc;
    for (;;) {
        pthread_mutex_lock(&rc->mu);
        int i = rc->stop ? rc->nitems : rc->next++;
        pthread_mutex_unlock(&rc->mu);
        if (i >= rc->nitems)
            break;
        item *it = &rc->items[i];
        if (it->o->map)
            run_mapped(rc, it, w->ectx);
        else
            run_streamed(rc, it, w->ectx);
    }
    return NULL;
}

/* Chooses chunk boundaries at newlines; returns the number of chunks. */
static int split_points(const char *b, size_t n, int want, size_t *cuts)
{
    int k = 0;
    cuts[k++] = 0;
    for (int c = 1; c < want; c++) {
        size_t at = n / (size_t)want * (size_t)c;
        if (at <= cuts[k - 1])
            continue;
        const char *nl = memchr(b + at, '\n', n - at);
        if (!nl)
            break;
        at = (size_t)(nl - b) + 1;
        if (at >= n)
            break;
        cuts[k++] = at;
    }
    cuts[k] = n;
    return k;
}

int bw_ingest_run(bw_ingest *in, bw_record_fn fn, void *const *ctx, int nctx, bw_errbuf *eb)
{
    run_ctx rc;
    opened *ops = NULL;
    int first_err = BW_OK, nworkers, rcode = BW_OK;
    worker *ws = NULL;
    memset(&rc, 0, sizeof rc);
    rc.in = in;
    rc.fn = fn;
    if (nctx < 1)
        return bw_errf(eb, BW_ERR_USAGE, "bw_ingest_run: need at least one context");
    if (!(ops = calloc((size_t)in->nfiles + 1, sizeof *ops)))
        return bw_errf(eb, BW_ERR_NOMEM, "out of memory");
    /* Open and detect every file up front (cheap: mmap or a first block),
     * so chunking decisions can be made. Items are built in file order. */
    size_t itcap = (size_t)in->nfiles * (size_t)(nctx > 1 ? nctx : 1) + 1;
    if (!(rc.items = calloc(itcap, sizeof *rc.items))) {
        rcode = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < in->nfiles; i++) {
        in_file *f = &in->files[i];
        opened *o = &ops[i];
        bw_errbuf feb;
        int e = open_file(in, f, o, &feb);
        if (e != BW_OK) {
            f->st.error = e;
            snprintf(f->st.note, sizeof f->st.note, "%.150s", feb.msg);
            if (!first_err) {
                first_err = e;
                bw_errf(eb, e, "%s", feb.msg);
            }
            close_opened(o);
            continue;
        }
        const char *sb = o->map ? o->map : o->buf;
        size_t sn = o->map ? o->maplen : o->buflen;
        if (sn > SNIFF_BYTES)
            sn = SNIFF_BYTES;
        if (sn == 0) {
            close_opened(o); /* empty file: nothing to read, not an error */
            snprintf(f->st.note, sizeof f->st.note, "empty");
            continue;
        }
        if (in->opts.format != BW_FMT_AUTO) {
            o->reader = bw_reader_get(in->opts.format);
        } else {
            int score;
            o->reader = detect(sb, sn, &score);
        }
        if (!o->reader) {
            snprintf(f->st.note, sizeof f->st.note,
                     "%snot a supported format (tried zeek, zeek-json, ecs, asim-csv, "
                     "asim-json, eve)%s", f->explicit_path ? "" : "skipped: ",
                     headerless_tsv(sb, sn) ? "; it looks like Zeek TSV without its #fields "
                                              "header, so its columns cannot be known" : "");
            close_opened(o);
            if (!f->explicit_path)
                continue; /* found in a directory walk: README, labels, ... */
            f->st.error = BW_ERR_FORMAT;
            if (!first_err) {
                first_err = BW_ERR_FORMAT;
                bw_errf(eb, BW_ERR_FORMAT, "%s: %s", f->path, f->st.note);
            }
            continue;
        }
        f->st.format = o->reader->format;
        size_t cuts[65];
        int nchunks = 1;
        if (o->map && nctx > 1 && o->maplen >= CHUNK_MIN && o->reader->splittable &&
            o->reader->splittable(sb, sn)) {
            int want = nctx * 2 > 64 ? 64 : nctx * 2;
            nchunks = split_points(o->map, o->maplen, want, cuts);
        } else {
            cuts[0] = 0;
            cuts[1] = o->map ? o->maplen : 0;
        }
        for (int c = 0; c < nchunks; c++) {
            if ((size_t)rc.nitems == itcap) {
                size_t nc = itcap * 2;
                item *ni = realloc(rc.items, nc * sizeof *ni);
                if (!ni) {
                    rcode = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
                    goto out;
                }
                memset(ni + itcap, 0, (nc - itcap) * sizeof *ni);
                rc.items = ni;
                itcap = nc;
            }
            item *it = &rc.items[rc.nitems++];
            it->file = i;
            it->chunk = c;
            it->begin = cuts[c];
            it->end = cuts[c + 1];
            it->o = o;
        }
    }
    /* Run. */
    nworkers = nctx;
    if (nworkers > rc.nitems)
        nworkers = rc.nitems > 0 ? rc.nitems : 1;
    if (!(ws = calloc((size_t)nworkers, sizeof *ws))) {
        rcode = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
        goto out;
    }
    pthread_mutex_init(&rc.mu, NULL);
    if (nworkers == 1) {
        ws[0].rc = &rc;
        ws[0].ectx = ctx[0];
        worker_main(&ws[0]);
    } else {
        int started = 0;
        for (int w = 0; w < nworkers; w++) {
            ws[w].rc = &rc;
            ws[w].ectx = ctx[w];
            if (pthread_create(&ws[w].tid, NULL, worker_main, &ws[w]) != 0)
                break;
            started++;
        }
        if (started == 0)
            worker_main(&ws[0]);
        for (int w = 0; w < started; w++)
            pthread_join(ws[w].tid, NULL);
    }
    pthread_mutex_destroy(&rc.mu);
    /* Merge pieces back per file, renumbering the lines of later chunks. */
    uint64_t line_base = 0;
    for (int k = 0; k < rc.nitems; k++) {
        item *it = &rc.items[k];
        in_file *f = &in->files[it->file];
        if (it->chunk == 0)
            line_base = 0;
        f->st.bytes += it->st.bytes;
        f->st.records += it->st.records;
        for (int s = 0; s < BW_SKIP__COUNT; s++)
            f->st.skipped[s] += it->st.skipped[s];
        for (int d = 0; d < it->ndiag && f->ndiag < BW_DIAG_PER_FILE; d++) {
            f->diag[f->ndiag] = it->diag[d];
            f->diag[f->ndiag].line += line_base;
            f->ndiag++;
        }
        line_base += it->lines;
        if (it->note[0] && !f->st.note[0])
            snprintf(f->st.note, sizeof f->st.note, "%s", it->note);
        if (it->err && !f->st.error) {
            f->st.error = it->err;
            if (!first_err) {
                first_err = it->err;
                bw_errf(eb, it->err, "%s: %s", f->path,
                        it->note[0] ? it->note : bw_strerror(it->err));
            }
        }
    }
    free(in->diags);
    in->ndiags = 0;
    in->diags = calloc((size_t)in->nfiles * BW_DIAG_PER_FILE + 1, sizeof *in->diags);
    if (in->diags)
        for (int i = 0; i < in->nfiles; i++)
            for (int d = 0; d < in->files[i].ndiag; d++)
                in->diags[in->ndiags++] = in->files[i].diag[d];
    if (rc.stop && !rcode && !first_err)
        rcode = BW_ERR_STOPPED;
out:
    for (int i = 0; ops && i < in->nfiles; i++)
        if (ops[i].is_open)
            close_opened(&ops[i]);
    free(ops);
    free(rc.items);
    free(ws);
    return rcode ? rcode : first_err;
}
