/* Byte streams for the ingest driver: a plain file descriptor, or gzip /
 * zstd decompression on top of one. Compression is recognized by magic
 * bytes, not by file name. */
#ifndef BW_INGEST_STREAM_H
#define BW_INGEST_STREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct bw_stream bw_stream;

typedef enum { BW_COMP_NONE, BW_COMP_GZIP, BW_COMP_ZSTD } bw_comp;

/* Wraps fd (not closed by the stream). head/nhead are bytes already read
 * from fd (at most 4, for the magic check); they are replayed first. */
bw_stream *bw_stream_new(int fd, const uint8_t *head, size_t nhead);
/* Accepts NULL. */
void bw_stream_free(bw_stream *s);
bw_comp bw_stream_comp(const bw_stream *s);

/* Reads up to cap decompressed bytes; 0 at end, -1 on a read error
 * (errno set). A corrupt or truncated compressed stream ends the stream
 * early and sets the note returned by bw_stream_problem(). */
long bw_stream_read(bw_stream *s, char *buf, size_t cap);
/* NULL when the stream ended cleanly, else a short description. */
const char *bw_stream_problem(const bw_stream *s);

#endif
