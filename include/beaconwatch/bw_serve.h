/* The dashboard server (`beaconwatch serve`, docs/api.md): HTTP on
 * libmicrohttpd's thread pool, the JSON API over read-only store handles
 * (one per worker thread), a bounded response cache, and the static pages
 * the program carries compiled in. */
#ifndef BW_SERVE_H
#define BW_SERVE_H

#include <stddef.h>

#include "bw_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A static file served at `path` ("/index.html"): its bytes gzip-compressed
 * and as they are, its content type and a quoted content-hash ETag. The
 * program's table (generated at build time from web/) is static data. */
typedef struct bw_asset {
    const char *path;
    const char *type;
    const char *etag;
    const unsigned char *gz;
    size_t gz_len;
    const unsigned char *raw;
    size_t raw_len;
} bw_asset;

typedef struct bw_serve_opts {
    const char *store;      /* store file (borrowed) */
    const char *listen;     /* "HOST:PORT"; port 0 picks a free one */
    const char *token;      /* NULL: no token, and then loopback only */
    unsigned threads;       /* worker threads; 0: the number of cores */
    unsigned max_conns;     /* concurrent connections; 0: 256 */
    unsigned timeout_s;     /* idle connection timeout; 0: 30 */
    double query_s;         /* time a query may take; 0: 10 */
    size_t cache_bytes;     /* response cache; 0: 64 MiB */
    const bw_asset *assets; /* borrowed, static; may be NULL */
    size_t nassets;
    const char *version;    /* reported by /api/meta */
} bw_serve_opts;

typedef struct bw_server bw_server;

/* Checks the store (read-only, current schema) and starts serving on
 * worker threads. On success *out owns the server (bw_serve_stop).
 * Errors: BW_ERR_USAGE (bad --listen, non-loopback without a token),
 * BW_ERR_IO / BW_ERR_STORE / BW_ERR_FORMAT (store), BW_ERR_IO (bind). */
int bw_serve_start(const bw_serve_opts *o, bw_server **out, bw_errbuf *eb);

/* The port the server listens on (the one picked for port 0). */
unsigned bw_serve_port(const bw_server *s);

/* Stops accepting, waits for the workers, frees everything. Accepts NULL. */
void bw_serve_stop(bw_server *s);

#ifdef __cplusplus
}
#endif
#endif
