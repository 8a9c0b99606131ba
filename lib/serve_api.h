/* The JSON endpoints of the dashboard server (docs/api.md), independent of
 * HTTP: a path and parsed query in, a status and a document out. */
#ifndef BW_SERVE_API_H
#define BW_SERVE_API_H

#include <stddef.h>

#include "beaconwatch/bw_store.h"
#include "serve_params.h"
#include "util_sbuf.h"

/* Answers the API request `path` ("/api/...") with query q from store s.
 * Returns the HTTP status: 200 with the document in out; 400 / 404 / 503
 * with a one-line message in err (errlen bytes) for the caller's
 * {"error": ...}. version is what /api/meta reports. */
int bw_api_handle(bw_store *s, const char *path, const bw_query *q, const char *version,
                  bw_sbuf *out, char *err, size_t errlen);

/* Appends s as a JSON string (quoted, escaped) to b. */
void bw_json_put_str(bw_sbuf *b, const char *s);

#endif
