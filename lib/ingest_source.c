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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNIFF_BYTES (64 * 1024)
#define SNIFF_MIN 30             /* below this confidence: not the format */
#define CHUNK_MIN (32u << 20)    /* split plain files from this size on */
#define STREAM_BLOCK (1u << 20) /* bytes read per step: small enough to stay in L2 */
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
    /* Live progress, updated by workers once per read step. */
    _Atomic uint64_t live_records, live_bytes;
    _Atomic uint64_t total_bytes; /* sum of the plain inputs' sizes */
    _Atomic int total_unknown;    /* some input is compressed or a pipe */
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
    if (in->opts.chunk_min == 0)
        in->opts.chunk_min = CHUNK_MIN;
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

void bw_ingest_progress(bw_ingest *in, bw_progress *out)
{
    out->records = atomic_load_explicit(&in->live_records, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&in->live_bytes, memory_order_relaxed);
    out->total_bytes = in->total_unknown ? 0 : in->total_bytes;
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

/* The first bytes of a file (decompressed) and what they say about it.
 * Files are opened twice: once here to sniff, once by the worker that
 * reads them, so only the files being read hold buffers and descriptors.
 * Standard input cannot be reopened: its stream and sniffed bytes are
 * kept and handed to its worker. */
typedef struct probe {
    int fd;             /* kept open only for stdin */
    bw_stream *stream;  /* kept only for stdin */
    int compressed;
    uint64_t size;      /* plain regular files: their size */
    char *head;         /* sniffed bytes */
    size_t nhead;
    int head_eof;       /* the whole input fits in head */
} probe;

static void probe_free(probe *pr)
{
    bw_stream_free(pr->stream);
    if (pr->fd >= 0)
        close(pr->fd);
    free(pr->head);
    memset(pr, 0, sizeof *pr);
    pr->fd = -1;
}

static int is_compressed(const uint8_t *b, size_t n)
{
    return (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) ||
           (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd);
}

/* read() that retries on EINTR and fills as much as it can. */
static long read_full(int fd, void *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, (char *)buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

static long pread_full(int fd, void *buf, size_t cap, uint64_t off)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t r = pread(fd, (char *)buf + got, cap - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

/* Opens a file and reads its first SNIFF_BYTES (decompressed). */
static int probe_open(const char *path, probe *pr, bw_errbuf *eb)
{
    struct stat st;
    uint8_t magic[4];
    long n;
    int is_stdin = strcmp(path, "-") == 0;
    memset(pr, 0, sizeof *pr);
    pr->fd = is_stdin ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
    if (pr->fd < 0)
        return bw_errf(eb, BW_ERR_IO, "%s: %s", path, strerror(errno));
    if (!(pr->head = malloc(SNIFF_BYTES)))
        return bw_errf(eb, BW_ERR_NOMEM, "out of memory");
    if ((n = read_full(pr->fd, magic, sizeof magic)) < 0)
        return bw_errf(eb, BW_ERR_IO, "%s: %s", path, strerror(errno));
    pr->compressed = is_compressed(magic, (size_t)n);
    if (!is_stdin && !pr->compressed && fstat(pr->fd, &st) == 0 && S_ISREG(st.st_mode)) {
        pr->size = (uint64_t)st.st_size;
        if ((n = pread_full(pr->fd, pr->head, SNIFF_BYTES, 0)) < 0)
            return bw_errf(eb, BW_ERR_IO, "%s: %s", path, strerror(errno));
        pr->nhead = (size_t)n;
        pr->head_eof = (uint64_t)n >= pr->size;
        close(pr->fd);
        pr->fd = -1;
        return BW_OK;
    }
    if (!(pr->stream = bw_stream_new(pr->fd, magic, (size_t)n)))
        return bw_errf(eb, BW_ERR_NOMEM, "out of memory");
    while (pr->nhead < SNIFF_BYTES) {
        long r = bw_stream_read(pr->stream, pr->head + pr->nhead, SNIFF_BYTES - pr->nhead);
        if (r < 0)
            return bw_errf(eb, BW_ERR_IO, "%s: %s", path, strerror(errno));
        if (r == 0) {
            pr->head_eof = 1;
            break;
        }
        pr->nhead += (size_t)r;
    }
    if (!is_stdin) { /* the worker reopens it */
        bw_stream_free(pr->stream);
        pr->stream = NULL;
        close(pr->fd);
        pr->fd = -1;
    }
    return BW_OK;
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

static const bw_reader *detect(const char *buf, size_t n)
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
    return bs >= SNIFF_MIN ? best : NULL;
}

/* ---- work items and workers ------------------------------------------- */

typedef struct item {
    int file;
    int chunk;            /* 0 for the first (or only) piece of a file */
    uint64_t begin, end;  /* byte range of a plain file; end = 0: to EOF */
    const bw_reader *reader;
    probe *stdin_probe;   /* the kept stream, for "-" */
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

/* A worker's read buffer and parse scratch, kept from one of its items to
 * the next: allocated anew per item they cost a page fault per 4 KiB
 * each time (~5 ms of CPU per item on the VM of bench/README.md), which
 * made small chunks dear. */
typedef struct wbufs {
    char *buf, *scratch;
    size_t cap, scratch_cap;
} wbufs;

static int parse_init(bw_parse *p, run_ctx *rc, item *it, void *ectx, wbufs *wb)
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
    if (wb->scratch_cap != p->scratch_cap) {
        free(wb->scratch);
        wb->scratch_cap = 0;
        if (!(wb->scratch = malloc(p->scratch_cap)))
            return BW_ERR_NOMEM;
        wb->scratch_cap = p->scratch_cap;
    }
    p->scratch = wb->scratch;
    return it->reader->init ? it->reader->init(p) : BW_OK;
}

static void parse_fini(bw_parse *p, item *it)
{
    if (p->state && it->reader->fini)
        it->reader->fini(p);
    memcpy(it->diag, p->diag, sizeof p->diag);
    it->ndiag = p->ndiag;
}

uint64_t bw_count_lines(const char *s, size_t n)
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

/* Where a worker's bytes come from: a byte range of a plain file (pread),
 * or a decompressing stream from the start. */
typedef struct source {
    int fd;
    uint64_t off, end; /* plain range */
    bw_stream *stream;
    char *prefix;      /* stdin: bytes already sniffed, replayed first */
    size_t nprefix, prefix_pos;
    int eof;
} source;

static long source_read(source *s, char *buf, size_t cap)
{
    long r;
    if (s->prefix_pos < s->nprefix) {
        size_t k = s->nprefix - s->prefix_pos;
        if (k > cap)
            k = cap;
        memcpy(buf, s->prefix + s->prefix_pos, k);
        s->prefix_pos += k;
        return (long)k;
    }
    if (s->stream)
        return bw_stream_read(s->stream, buf, cap);
    if (s->off >= s->end)
        return 0;
    if (cap > s->end - s->off)
        cap = (size_t)(s->end - s->off);
    r = pread_full(s->fd, buf, cap, s->off);
    if (r > 0)
        s->off += (uint64_t)r;
    return r;
}

/* Fills buf up to cap; sets s->eof at the end of the source. */
static int source_fill(source *s, char *buf, size_t *len, size_t cap)
{
    while (!s->eof && *len < cap) {
        long r = source_read(s, buf + *len, cap - *len);
        if (r < 0)
            return -1;
        if (r == 0)
            s->eof = 1;
        *len += (size_t)r;
    }
    return 0;
}

/* Reads the header of a file for a chunk that starts past it, through the
 * worker's read buffer (free until the chunk's own bytes come). */
static void chunk_header(bw_parse *p, const bw_reader *r, int fd, char *buf, size_t cap)
{
    long n;
    if (cap > 256 * 1024)
        cap = 256 * 1024;
    if ((n = pread_full(fd, buf, cap, 0)) > 0)
        r->header(p, buf, (size_t)n);
    p->line = 1;
}

/* One work item: a whole file, or one chunk of a plain file. */
static void run_item(run_ctx *rc, item *it, void *ectx, wbufs *wb)
{
    in_file *f = &rc->in->files[it->file];
    const bw_reader *r = it->reader;
    size_t cap = STREAM_BLOCK + rc->in->opts.max_record, len = 0, pos = 0;
    char *buf = NULL;
    source src;
    bw_parse p;
    memset(&src, 0, sizeof src);
    src.fd = -1;
    memset(&p, 0, sizeof p);
    if ((it->err = parse_init(&p, rc, it, ectx, wb)) != BW_OK)
        goto out;
    if (wb->cap != cap) {
        free(wb->buf);
        wb->cap = 0;
        if (!(wb->buf = malloc(cap))) {
            it->err = BW_ERR_NOMEM;
            goto out;
        }
        wb->cap = cap;
    }
    buf = wb->buf;
    if (it->stdin_probe) {
        src.stream = it->stdin_probe->stream;
        src.prefix = it->stdin_probe->head;
        src.nprefix = it->stdin_probe->nhead;
    } else {
        uint8_t magic[4];
        long n;
        if ((src.fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0 ||
            (n = pread_full(src.fd, magic, sizeof magic, 0)) < 0) {
            it->err = BW_ERR_IO;
            snprintf(it->note, sizeof it->note, "%s", strerror(errno));
            goto out;
        }
        if (is_compressed(magic, (size_t)n)) {
            if (lseek(src.fd, (off_t)n, SEEK_SET) < 0 ||
                !(src.stream = bw_stream_new(src.fd, magic, (size_t)n))) {
                it->err = BW_ERR_NOMEM;
                goto out;
            }
        } else {
            struct stat st;
            src.off = it->begin;
            src.end = it->end;
            if (src.end == 0 && fstat(src.fd, &st) == 0)
                src.end = (uint64_t)st.st_size;
            if (it->chunk > 0 && r->header)
                chunk_header(&p, r, src.fd, buf, cap);
        }
    }
    if (source_fill(&src, buf, &len, len + STREAM_BLOCK) != 0)
        goto read_error;
    if (it->chunk == 0) {
        pos = r->header ? r->header(&p, buf, len) : 0;
        p.line = 1 + bw_count_lines(buf, pos);
    }
    if (reject(rc, it, &p))
        goto out;
    for (;;) {
        uint64_t before = it->st.records;
        size_t used = r->feed(&p, buf + pos, len - pos, src.eof);
        pos += used;
        atomic_fetch_add_explicit(&rc->in->live_records, it->st.records - before,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&rc->in->live_bytes, used, memory_order_relaxed);
        if (p.stopped || src.eof)
            break;
        it->st.bytes += pos;
        memmove(buf, buf + pos, len - pos); /* keep the unfinished record */
        len -= pos;
        pos = 0;
        if (len >= cap - 1) {
            /* A whole buffer without a record end: drop through the next
             * newline and count it. */
            bw_parse_skip(&p, BW_SKIP_TOO_LONG, p.line, buf, 40);
            it->st.bytes += len;
            len = 0;
            for (;;) {
                if (source_fill(&src, buf, &len, cap) != 0)
                    goto read_error;
                char *nl = memchr(buf, '\n', len);
                if (nl || src.eof) {
                    size_t k = nl ? (size_t)(nl - buf) + 1 : len;
                    it->st.bytes += k;
                    memmove(buf, buf + k, len - k);
                    len -= k;
                    p.line += nl != NULL;
                    break;
                }
                it->st.bytes += len;
                len = 0;
            }
        }
        if (source_fill(&src, buf, &len, len + STREAM_BLOCK < cap ? len + STREAM_BLOCK : cap))
            goto read_error;
    }
    it->st.bytes += pos;
    it->lines = p.line - 1;
    if (src.stream && bw_stream_problem(src.stream))
        snprintf(it->note, sizeof it->note, "%s; read what came before it",
                 bw_stream_problem(src.stream));
    if (p.stopped)
        rc->stop = 1;
    goto out;
read_error:
    it->err = BW_ERR_IO;
    snprintf(it->note, sizeof it->note, "read error: %s", strerror(errno));
out:
    if (!it->stdin_probe) {
        bw_stream_free(src.stream);
        if (src.fd >= 0)
            close(src.fd);
    }
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
    wbufs wb = {0};
    for (;;) {
        pthread_mutex_lock(&rc->mu);
        int i = rc->stop ? rc->nitems : rc->next++;
        pthread_mutex_unlock(&rc->mu);
        if (i >= rc->nitems)
            break;
        run_item(rc, &rc->items[i], w->ectx, &wb);
    }
    free(wb.buf);
    free(wb.scratch);
    return NULL;
}

/* Chooses chunk boundaries just after newlines, in shrinking sizes: each
 * chunk is 1 / (2 x workers) of what is left, down to 1 / (16 x workers)
 * of the file, at most max chunks. The workers take them in order, so the
 * last pieces are small and the workers finish close together (with equal
 * quarters, one of two workers sat idle for 40 ms on average at the end of
 * a 1.3 s detect read). Returns the number of chunks (cuts[0..k] are their
 * bounds). */
static int split_points(const char *path, uint64_t size, int nworkers, int max, uint64_t *cuts)
{
    int k = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    char probe_buf[64 * 1024];
    uint64_t least = size / (16 * (uint64_t)nworkers), from = 0;
    if (least == 0)
        least = 1;
    cuts[k++] = 0;
    while (fd >= 0 && k < max) {
        uint64_t step = (size - from) / (2 * (uint64_t)nworkers);
        uint64_t at = from + (step > least ? step : least);
        long n;
        if (at + least / 2 >= size) /* a last sliver joins the chunk before */
            break;
        if ((n = pread_full(fd, probe_buf, sizeof probe_buf, at)) <= 0)
            break;
        const char *nl = memchr(probe_buf, '\n', (size_t)n);
        from = at;
        if (!nl)
            continue; /* a very long line here: no cut, try further on */
        at += (uint64_t)(nl - probe_buf) + 1;
        if (at >= size)
            break;
        cuts[k++] = from = at;
    }
    if (fd >= 0)
        close(fd);
    cuts[k] = size;
    return k;
}

static int push_item(run_ctx *rc, size_t *cap, const item *it)
{
    if ((size_t)rc->nitems == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        item *ni = realloc(rc->items, nc * sizeof *ni);
        if (!ni)
            return -1;
        rc->items = ni;
        *cap = nc;
    }
    rc->items[rc->nitems++] = *it;
    return 0;
}

int bw_ingest_run(bw_ingest *in, bw_record_fn fn, void *const *ctx, int nctx, bw_errbuf *eb)
{
    run_ctx rc;
    probe stdin_probe;
    int first_err = BW_OK, nworkers, rcode = BW_OK, have_stdin = 0;
    size_t itcap = 0;
    worker *ws = NULL;
    memset(&rc, 0, sizeof rc);
    memset(&stdin_probe, 0, sizeof stdin_probe);
    stdin_probe.fd = -1;
    rc.in = in;
    rc.fn = fn;
    if (nctx < 1)
        return bw_errf(eb, BW_ERR_USAGE, "bw_ingest_run: need at least one context");
    atomic_store(&in->live_records, 0);
    atomic_store(&in->live_bytes, 0);
    in->total_bytes = 0;
    in->total_unknown = 0;
    /* Plan: sniff every file, pick its reader, cut large plain files. */
    for (int i = 0; i < in->nfiles; i++) {
        in_file *f = &in->files[i];
        probe pr;
        bw_errbuf feb;
        item it;
        int e;
        int is_stdin = strcmp(f->path, "-") == 0;
        memset(&it, 0, sizeof it);
        it.file = i;
        if (is_stdin && have_stdin) {
            snprintf(f->st.note, sizeof f->st.note, "stdin named twice; read once");
            continue;
        }
        if ((e = probe_open(f->path, &pr, &feb)) != BW_OK) {
            f->st.error = e;
            snprintf(f->st.note, sizeof f->st.note, "%.200s", feb.msg);
            if (!first_err) {
                first_err = e;
                bw_errf(eb, e, "%s", feb.msg);
            }
            probe_free(&pr);
            continue;
        }
        if (pr.nhead == 0) {
            snprintf(f->st.note, sizeof f->st.note, "empty"); /* nothing to read */
            probe_free(&pr);
            continue;
        }
        it.reader = in->opts.format != BW_FMT_AUTO ? bw_reader_get(in->opts.format)
                                                   : detect(pr.head, pr.nhead);
        if (!it.reader) {
            snprintf(f->st.note, sizeof f->st.note,
                     "%snot a supported format (tried zeek, zeek-json, ecs, asim-csv, "
                     "asim-json, eve)%s", f->explicit_path ? "" : "skipped: ",
                     headerless_tsv(pr.head, pr.nhead)
                         ? "; it looks like Zeek TSV without its #fields header, so its "
                           "columns cannot be known"
                         : "");
            probe_free(&pr);
            if (!f->explicit_path)
                continue; /* found in a directory walk: README, labels, ... */
            f->st.error = BW_ERR_FORMAT;
            if (!first_err) {
                first_err = BW_ERR_FORMAT;
                bw_errf(eb, BW_ERR_FORMAT, "%s: %s", f->path, f->st.note);
            }
            continue;
        }
        f->st.format = it.reader->format;
        if (is_stdin || pr.compressed)
            in->total_unknown = 1;
        else
            in->total_bytes += pr.size;
        if (is_stdin) {
            stdin_probe = pr;
            have_stdin = 1;
            it.stdin_probe = &stdin_probe;
            if (push_item(&rc, &itcap, &it) != 0)
                goto nomem;
            continue;
        }
        uint64_t cuts[65];
        int nchunks = 1;
        cuts[0] = 0;
        cuts[1] = 0;
        if (!pr.compressed && nctx > 1 && pr.size >= in->opts.chunk_min && it.reader->splittable &&
            it.reader->splittable(pr.head, pr.nhead))
            nchunks = split_points(f->path, pr.size, nctx, 64, cuts);
        probe_free(&pr);
        for (int c = 0; c < nchunks; c++) {
            it.chunk = c;
            it.begin = cuts[c];
            it.end = cuts[c + 1];
            if (push_item(&rc, &itcap, &it) != 0)
                goto nomem;
        }
    }
    /* Run. */
    nworkers = nctx < rc.nitems ? nctx : (rc.nitems > 0 ? rc.nitems : 1);
    if (!(ws = calloc((size_t)nworkers, sizeof *ws)))
        goto nomem;
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
    if (rc.stop && !first_err)
        rcode = BW_ERR_STOPPED;
    goto out;
nomem:
    rcode = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
out:
    if (have_stdin)
        probe_free(&stdin_probe);
    free(rc.items);
    free(ws);
    return rcode ? rcode : first_err;
}
