/* The contract between the ingest driver (ingest_source.c) and the
 * per-format readers (ingest_zeek.c, ingest_json.c users, ingest_asim.c,
 * ...). A reader parses complete records out of a byte range and emits
 * them; the driver owns files, decompression, chunking and accounting. */
#ifndef BW_INGEST_READER_H
#define BW_INGEST_READER_H

#include <stddef.h>
#include <stdint.h>

#include "beaconwatch/bw_ingest.h"

/* One parse of one byte stream (a file, or one chunk of a file). */
typedef struct bw_parse {
    const char *path;     /* for diagnostics */
    int file;             /* index into the ingest's file list */
    uint64_t line;        /* 1-based line number of the next unread byte */
    uint32_t max_record;  /* size cap of one line/document */
    bw_file_stats *st;    /* counters; private to this parse */
    bw_record_fn emit;
    void *emit_ctx;
    int stopped;          /* set when emit returned non-zero */
    /* Diagnostics collected by this parse (first BW_DIAG_PER_FILE). */
    bw_diag diag[BW_DIAG_PER_FILE];
    int ndiag;
    /* Scratch for unescaped strings: a fixed buffer of max_record bytes
     * (never reallocated, so returned pointers stay valid until reset);
     * the reader resets it per record. */
    char *scratch;
    size_t scratch_len, scratch_cap;
    void *state; /* reader-private, from init() */
    /* Set by header() when the file is a well-formed log of another kind
     * (e.g. a Zeek dns.log): a static string saying what it is. The driver
     * then skips the file (an error when the user named it). */
    const char *reject;
} bw_parse;

typedef struct bw_reader {
    bw_format format;
    const char *name;
    const char *describe;
    /* Confidence 0..100 that buf (the first bytes of a file, decompressed,
     * possibly cut mid-line) is this format. */
    int (*sniff)(const char *buf, size_t n);
    /* Allocate p->state; 0 or a bw_err. */
    int (*init)(bw_parse *p);
    void (*fini)(bw_parse *p);
    /* Parse header lines at the start of a file (Zeek '#' lines, CSV
     * header) into p->state and return how many bytes they take; readers
     * without a header return 0. Used so chunks other than the first can
     * share the file's header. Must not emit. */
    size_t (*header)(bw_parse *p, const char *buf, size_t n);
    /* Parse and emit every complete record in buf[0..n). When eof is 0,
     * stop before an incomplete trailing record and return the bytes
     * consumed; when eof is 1, consume everything (a partial trailing record
     * is counted as BW_SKIP_TRUNCATED). Must advance p->line by the number
     * of newlines consumed and stop early when p->stopped is set. */
    size_t (*feed)(bw_parse *p, const char *buf, size_t n, int eof);
    /* Whether a file that starts with buf may be split at newlines into
     * independently parsed chunks (line-delimited content). */
    int (*splittable)(const char *buf, size_t n);
} bw_reader;

/* The reader for a format, or NULL. */
const bw_reader *bw_reader_get(bw_format f);

/* Counts a skipped line and keeps its diagnostic if among the first few. */
void bw_parse_skip(bw_parse *p, bw_skip why, uint64_t line, const char *detail,
                   size_t detail_len);

/* Emits a record, counting it; returns non-zero when the run must stop. */
int bw_parse_emit(bw_parse *p, const bw_record *r);

/* Appends bytes to p->scratch; returns a pointer to the copy (stable until
 * the next bw_parse_scratch_reset) or NULL when it does not fit. */
char *bw_parse_scratch_put(bw_parse *p, const char *s, size_t n);
void bw_parse_scratch_reset(bw_parse *p);

/* Number of '\n' in s[0..n), for keeping p->line right. */
uint64_t bw_count_lines(const char *s, size_t n);

/* Readers, defined in their own files. */
extern const bw_reader bw_reader_zeek;
extern const bw_reader bw_reader_zeek_json;
extern const bw_reader bw_reader_ecs;
extern const bw_reader bw_reader_asim_csv;
extern const bw_reader bw_reader_asim_json;
extern const bw_reader bw_reader_eve;

#endif
