/* Ingest: turn log files (any format of SPEC §2, plain, .gz or .zst, whole
 * directories, stdin) into session records delivered to a callback, with
 * every skipped line counted per file and reason. */
#ifndef BW_INGEST_H
#define BW_INGEST_H

#include <stdint.h>

#include "bw_error.h"
#include "bw_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bw_format {
    BW_FMT_AUTO = 0,
    BW_FMT_ZEEK,      /* Zeek conn.log TSV */
    BW_FMT_ZEEK_JSON, /* Zeek conn log, one JSON object a line */
    BW_FMT_ECS,       /* Elastic Common Schema documents */
    BW_FMT_ASIM_CSV,  /* Sentinel ASIM NetworkSession, CSV with header */
    BW_FMT_ASIM_JSON, /* Sentinel ASIM NetworkSession, JSON array or NDJSON */
    BW_FMT_EVE,       /* Suricata eve.json flow/netflow events */
    BW_FMT__COUNT
} bw_format;

/* "zeek", "zeek-json", ... ("auto" for BW_FMT_AUTO). */
const char *bw_format_name(bw_format f);
/* Returns 0 and sets *out for a known name, else -1. */
int bw_format_parse(const char *name, bw_format *out);
/* One line describing the format and the fields it maps, for `formats`. */
const char *bw_format_describe(bw_format f);

/* Why a line was skipped. Reasons before BW_SKIP__MALFORMED_END are
 * malformed input; the rest are well-formed but not sessions (counted,
 * reported in the summary, never an error). */
typedef enum bw_skip {
    BW_SKIP_SYNTAX = 0, /* not valid JSON / CSV / TSV */
    BW_SKIP_TOO_LONG,   /* line or document above the size cap */
    BW_SKIP_COLUMNS,    /* wrong number of columns */
    BW_SKIP_NO_TIME,    /* time field missing */
    BW_SKIP_BAD_TIME,   /* time field unparsable */
    BW_SKIP_BAD_IP,     /* address field unparsable */
    BW_SKIP_BAD_NUMBER, /* port/bytes/duration unparsable */
    BW_SKIP_TRUNCATED,  /* partial last line / document at end of input */
    BW_SKIP__MALFORMED_END,
    BW_SKIP_NOT_SESSION = BW_SKIP__MALFORMED_END, /* e.g. eve alert, dns */
    BW_SKIP__COUNT
} bw_skip;

const char *bw_skip_name(bw_skip s);

/* Per-file accounting, kept for every input file. */
typedef struct bw_file_stats {
    const char *path;   /* owned by the ingest object */
    bw_format format;   /* detected or forced */
    uint64_t bytes;     /* bytes of (decompressed) input read */
    uint64_t records;   /* records delivered */
    uint64_t skipped[BW_SKIP__COUNT];
    int error;          /* bw_err for a whole-file problem, 0 if none */
    char note[256];     /* the file-level problem or remark, "" if none */
} bw_file_stats;

/* A reported skip: the first BW_DIAG_PER_FILE per file are kept. */
#define BW_DIAG_PER_FILE 5
typedef struct bw_diag {
    int file;      /* index into the file list */
    uint64_t line; /* 1-based */
    bw_skip reason;
    char detail[96];
} bw_diag;

typedef struct bw_ingest_opts {
    bw_format format;    /* BW_FMT_AUTO detects per file */
    int threads;         /* worker threads; 0 = number of CPUs */
    uint32_t max_record; /* cap on one line/document in bytes; 0 = 1 MiB */
    uint64_t chunk_min;  /* split plain files from this size on; 0 = 32 MiB */
} bw_ingest_opts;

typedef struct bw_ingest bw_ingest;

/* Returns NULL only when out of memory. opts may be NULL for defaults. */
bw_ingest *bw_ingest_new(const bw_ingest_opts *opts);
/* Accepts NULL. */
void bw_ingest_free(bw_ingest *in);

/* Queues an input: a file, a directory (read recursively, files in path
 * order, which is time order for Zeek's rotated logs) or "-" for stdin.
 * Path is copied. Fails (BW_ERR_IO) when the path does not exist. */
int bw_ingest_add(bw_ingest *in, const char *path, bw_errbuf *eb);

/* Called once per record. The record and its strings are valid only during
 * the call. Return 0 to go on, non-zero to stop the run (BW_ERR_STOPPED). */
typedef int (*bw_record_fn)(void *ctx, const bw_record *rec);

/* Reads every queued input. With nctx == 1 records arrive in input order on
 * the calling thread. With nctx > 1, up to nctx workers run at once (files
 * in parallel, large plain files split into chunks); worker i only ever
 * calls fn(ctx[i], ...), so each context needs no locking.
 * A file that is unreadable or of no supported format is recorded in its
 * stats (error, note) and the run goes on; the return value is then
 * BW_ERR_FORMAT or BW_ERR_IO (the first such error), with detail in eb. */
int bw_ingest_run(bw_ingest *in, bw_record_fn fn, void *const *ctx, int nctx,
                  bw_errbuf *eb);

/* Live progress of a running bw_ingest_run, safe to read from another
 * thread: records delivered and bytes consumed so far; total_bytes is the
 * input size when known (all inputs plain files), else 0. */
typedef struct bw_progress {
    uint64_t records, bytes, total_bytes;
} bw_progress;
void bw_ingest_progress(bw_ingest *in, bw_progress *out);

/* Accounting after (or during) a run. */
int bw_ingest_nfiles(const bw_ingest *in);
const bw_file_stats *bw_ingest_file(const bw_ingest *in, int i);
int bw_ingest_ndiag(const bw_ingest *in);
const bw_diag *bw_ingest_diag(const bw_ingest *in, int i);

/* Sum of per-file stats. */
void bw_ingest_totals(const bw_ingest *in, bw_file_stats *out);

/* Number of online CPUs (at least 1). */
int bw_cpu_count(void);

#ifdef __cplusplus
}
#endif
#endif
