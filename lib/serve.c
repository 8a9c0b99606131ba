/* The HTTP side of `beaconwatch serve` (docs/api.md): libmicrohttpd with a
 * thread pool, one read-only store handle per worker thread, GET/HEAD
 * only, request caps, bearer token, gzip, ETag / 304, and a bounded cache
 * of API responses keyed by the request and the store's state. */
#include "beaconwatch/bw_serve.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "beaconwatch/bw_dash.h"
#include "beaconwatch/bw_store.h"
#include "serve_api.h"
#include "serve_params.h"
#include "util_sbuf.h"

#define CACHE_SLOTS 1024
#define CACHE_WAYS 8 /* a key may sit in any of 8 slots: no thrashing pairs */
#define FLIGHTS 64 /* requests being computed, that others can wait for */
#define MIN_GZIP 256 /* smaller bodies are sent as they are */

typedef struct centry {
    uint64_t hash, gen;
    uint64_t used; /* tick of the last hit: the set evicts the least recent */
    char *key;
    char *raw, *gz;
    size_t raw_len, gz_len;
} centry;

struct bw_server {
    struct MHD_Daemon *d;
    bw_serve_opts o;
    char *store, *token, *version;
    unsigned port;
    uint64_t nonce; /* ETags of one run never match another run's */
    pthread_mutex_t lock; /* guards everything below */
    bw_store **handles;
    size_t nhandles, caphandles;
    uint64_t gen; /* bumped whenever a handle sees the store change */
    centry cache[CACHE_SLOTS];
    size_t cache_used;
    uint64_t tick;
    /* Keys being computed now: a request for the same key and generation
     * waits for that answer instead of running the same query again (50
     * browsers opening the same dashboard cost one query). */
    struct flight {
        uint64_t hash, gen;
        const char *key; /* the computing request's, NULL: slot free */
    } flights[FLIGHTS];
    pthread_cond_t landed;
};

/* The calling worker thread's store handle. */
static _Thread_local struct {
    const bw_server *srv;
    bw_store *s;
    int64_t data_version;
} tls;

/* What one request carries between the callbacks. */
typedef struct rq {
    size_t uri_len;
    char *query; /* the raw query string (after '?'), NULL when none */
    int seen;
} rq;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    rq *r = calloc(1, sizeof *r);
    (void)cls;
    (void)c;
    if (!r)
        return NULL;
    r->uri_len = strlen(uri);
    const char *q = strchr(uri, '?');
    if (q && r->uri_len <= BW_SERVE_MAX_URL)
        r->query = strdup(q + 1);
    return r;
}

static void on_done(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe)
{
    rq *r = *req_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (r) {
        free(r->query);
        free(r);
        *req_cls = NULL;
    }
}

/* Compresses src into a malloc'd gzip member; NULL on failure. */
static char *gzip(const void *src, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    char *out = malloc(cap);
    if (out) {
        z.next_in = (Bytef *)(uintptr_t)src;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)out;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
            free(out);
            out = NULL;
        } else {
            *out_len = cap - z.avail_out;
        }
    }
    deflateEnd(&z);
    return out;
}

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status,
                             struct MHD_Response *resp)
{
    enum MHD_Result ret;
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    bw_sbuf b = {0};
    bw_sbuf_cat(&b, "{\"error\":");
    bw_json_put_str(&b, msg);
    bw_sbuf_cat(&b, "}\n");
    if (b.oom) {
        free(b.p);
        return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(b.n, b.p, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(b.p);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    return queue(c, status, resp);
}

static enum MHD_Result send_304(struct MHD_Connection *c, const char *etag,
                                const char *cache_control)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "ETag", etag);
    MHD_add_response_header(resp, "Cache-Control", cache_control);
    MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    return queue(c, MHD_HTTP_NOT_MODIFIED, resp);
}

/* A 200 with body (gzip-encoded when gz), copied or borrowed (static). */
static enum MHD_Result send_body(struct MHD_Connection *c, const char *type, const void *body,
                                 size_t len, int gz, const char *etag,
                                 const char *cache_control, int is_static)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)(uintptr_t)body, is_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_COPY);
    char tag[40];
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", cache_control);
    MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    if (gz)
        MHD_add_response_header(resp, "Content-Encoding", "gzip");
    if (etag) {
        /* The gzip body is another representation: its own tag. */
        size_t el = strlen(etag);
        if (gz && el + 4 < sizeof tag) {
            memcpy(tag, etag, el - 1);
            memcpy(tag + el - 1, "-gz\"", 5);
            MHD_add_response_header(resp, "ETag", tag);
        } else {
            MHD_add_response_header(resp, "ETag", etag);
        }
    }
    return queue(c, MHD_HTTP_OK, resp);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result serve_asset(bw_server *srv, struct MHD_Connection *c, const char *url)
{
    const char *path = strcmp(url, "/") == 0 ? "/index.html" : url;
    for (size_t i = 0; i < srv->o.nassets; i++) {
        const bw_asset *a = &srv->o.assets[i];
        if (strcmp(a->path, path) != 0)
            continue;
        if (bw_etag_match(header(c, "If-None-Match"), a->etag))
            return send_304(c, a->etag, "no-cache");
        int gz = bw_accepts_gzip(header(c, "Accept-Encoding")) && a->gz_len < a->raw_len;
        return send_body(c, a->type, gz ? a->gz : a->raw, gz ? a->gz_len : a->raw_len, gz,
                         a->etag, "no-cache", 1);
    }
    return send_error(c, MHD_HTTP_NOT_FOUND, "not found");
}

static void cache_flush(bw_server *srv)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        centry *e = &srv->cache[i];
        free(e->key);
        free(e->raw);
        free(e->gz);
        memset(e, 0, sizeof *e);
    }
    srv->cache_used = 0;
}

/* This thread's store handle, opened on first use; NULL with eb set. */
static bw_store *thread_store(bw_server *srv, bw_errbuf *eb)
{
    if (tls.srv == srv && tls.s)
        return tls.s;
    bw_store *s = NULL;
    if (bw_store_open(srv->store, BW_STORE_READONLY, &s, eb))
        return NULL;
    pthread_mutex_lock(&srv->lock);
    if (srv->nhandles == srv->caphandles) {
        size_t cap = srv->caphandles ? 2 * srv->caphandles : 16;
        bw_store **nh = realloc(srv->handles, cap * sizeof *nh);
        if (!nh) {
            pthread_mutex_unlock(&srv->lock);
            bw_store_close(s);
            bw_errf(eb, BW_ERR_NOMEM, "out of memory");
            return NULL;
        }
        srv->handles = nh;
        srv->caphandles = cap;
    }
    srv->handles[srv->nhandles++] = s;
    /* A new handle has no idea what the cache was computed from. */
    srv->gen++;
    cache_flush(srv);
    pthread_mutex_unlock(&srv->lock);
    tls.srv = srv;
    tls.s = s;
    tls.data_version = 0;
    bw_dash_data_version(s, &tls.data_version, eb);
    return s;
}

/* The store's generation: bumped (and the cache emptied) when this
 * thread's handle sees a commit it has not seen. */
static int store_gen(bw_server *srv, bw_store *s, uint64_t *gen, bw_errbuf *eb)
{
    int64_t v = 0;
    if (bw_dash_data_version(s, &v, eb))
        return -1;
    pthread_mutex_lock(&srv->lock);
    if (v != tls.data_version) {
        tls.data_version = v;
        srv->gen++;
        cache_flush(srv);
    }
    *gen = srv->gen;
    pthread_mutex_unlock(&srv->lock);
    return 0;
}

/* Frees a flight slot and wakes the requests waiting for it. */
static void land(bw_server *srv, struct flight *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&srv->lock);
    f->key = NULL;
    pthread_cond_broadcast(&srv->landed);
    pthread_mutex_unlock(&srv->lock);
}

static enum MHD_Result serve_api(bw_server *srv, struct MHD_Connection *c, const char *url,
                                 const rq *r)
{
    char err[BW_ERRBUF_SIZE];
    bw_errbuf eb = {{0}};
    bw_query q;
    const char *qs = r->query ? r->query : "";
    int gz = bw_accepts_gzip(header(c, "Accept-Encoding"));
    uint64_t gen;
    enum MHD_Result ret;

    if (srv->token) {
        const char *auth = header(c, "Authorization");
        if (!auth || strncmp(auth, "Bearer ", 7) != 0 || !bw_secret_equal(auth + 7, srv->token))
            return send_error(c, MHD_HTTP_UNAUTHORIZED, "missing or wrong token");
    }
    int st = bw_query_parse(qs, strlen(qs), &q, err, sizeof err);
    if (st)
        return send_error(c, (unsigned)st, err);
    bw_store *s = thread_store(srv, &eb);
    if (!s || store_gen(srv, s, &gen, &eb))
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, eb.msg);

    /* The key: path and query as sent; the tag adds the store's state. */
    size_t ul = strlen(url), ql = strlen(qs);
    char *key = malloc(ul + ql + 2);
    if (!key)
        return MHD_NO;
    memcpy(key, url, ul);
    key[ul] = '?';
    memcpy(key + ul + 1, qs, ql + 1);
    uint64_t h = fnv(0xcbf29ce484222325ULL, key, ul + ql + 1);
    uint64_t th = fnv(fnv(h, &gen, sizeof gen), &srv->nonce, sizeof srv->nonce);
    char etag[24];
    snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)th);
    if (bw_etag_match(header(c, "If-None-Match"), etag)) {
        free(key);
        return send_304(c, etag, "no-cache");
    }

    const char *type = "application/json; charset=utf-8";
    centry *set = &srv->cache[h % (CACHE_SLOTS / CACHE_WAYS) * CACHE_WAYS], *e = NULL;
    struct flight *mine = NULL;
    pthread_mutex_lock(&srv->lock);
    for (;;) {
        e = NULL;
        for (size_t i = 0; i < CACHE_WAYS && !e; i++)
            if (set[i].key && set[i].gen == gen && set[i].hash == h &&
                strcmp(set[i].key, key) == 0)
                e = &set[i];
        if (e) {
            e->used = ++srv->tick;
            int use_gz = gz && e->gz;
            /* MHD copies the body before the lock is released. */
            ret = send_body(c, type, use_gz ? e->gz : e->raw, use_gz ? e->gz_len : e->raw_len,
                            use_gz, etag, "no-cache", 0);
            pthread_mutex_unlock(&srv->lock);
            free(key);
            return ret;
        }
        struct flight *busy = NULL;
        for (size_t i = 0; i < FLIGHTS && !busy; i++)
            if (srv->flights[i].key && srv->flights[i].hash == h && srv->flights[i].gen == gen &&
                strcmp(srv->flights[i].key, key) == 0)
                busy = &srv->flights[i];
        if (!busy)
            break;
        pthread_cond_wait(&srv->landed, &srv->lock);
    }
    for (size_t i = 0; i < FLIGHTS && !mine; i++)
        if (!srv->flights[i].key) {
            mine = &srv->flights[i];
            *mine = (struct flight){h, gen, key};
        }
    pthread_mutex_unlock(&srv->lock);

    bw_sbuf body = {0};
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        bw_dash_deadline(s, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 +
                                (srv->o.query_s > 0 ? srv->o.query_s : 10.0));
    }
    st = bw_api_handle(s, url, &q, srv->version, &body, err, sizeof err);
    bw_dash_deadline(s, 0);
    bw_sbuf_put(&body, "\n", 1);
    if (st == 200 && body.oom) {
        st = MHD_HTTP_SERVICE_UNAVAILABLE;
        snprintf(err, sizeof err, "out of memory");
    }
    if (st != 200) {
        land(srv, mine);
        free(body.p);
        free(key);
        return send_error(c, (unsigned)st, err);
    }
    size_t gz_len = 0;
    char *gzb = body.n >= MIN_GZIP ? gzip(body.p, body.n, &gz_len) : NULL;
    int use_gz = gz && gzb;
    ret = send_body(c, type, use_gz ? gzb : body.p, use_gz ? gz_len : body.n, use_gz, etag,
                    "no-cache", 0);

    /* Keep it while the store is unchanged (the cache is emptied when full). */
    size_t size = body.n + gz_len + ul + ql + 1;
    pthread_mutex_lock(&srv->lock);
    if (srv->gen == gen && size <= srv->o.cache_bytes / 8) {
        /* An empty slot of the set, else its least recently used. */
        e = &set[0];
        for (size_t i = 0; i < CACHE_WAYS && e->key; i++)
            if (!set[i].key || set[i].used < e->used)
                e = &set[i];
        if (e->key) {
            srv->cache_used -= e->raw_len + e->gz_len + strlen(e->key);
            free(e->key);
            free(e->raw);
            free(e->gz);
            memset(e, 0, sizeof *e);
        }
        if (srv->cache_used + size > srv->o.cache_bytes)
            cache_flush(srv); /* full: start over rather than track ages */
        {
            *e = (centry){h, gen, ++srv->tick, key, body.p, gzb, body.n, gz_len};
            srv->cache_used += size;
            key = NULL;
            body.p = gzb = NULL;
        }
    }
    if (mine) {
        mine->key = NULL;
        pthread_cond_broadcast(&srv->landed);
    }
    pthread_mutex_unlock(&srv->lock);
    free(key);
    free(body.p);
    free(gzb);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    bw_server *srv = cls;
    rq *r = *req_cls;
    (void)version;
    (void)upload_data;
    if (!r)
        return MHD_NO; /* out of memory in on_uri */
    if (r->seen) {
        /* Only reached with a body the response was already queued for. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    r->seen = 1;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    if (r->uri_len > BW_SERVE_MAX_URL)
        return send_error(c, MHD_HTTP_URI_TOO_LONG, "request target longer than 4 KiB");
    const char *cl = header(c, "Content-Length");
    if ((cl && strcmp(cl, "0") != 0) || header(c, "Transfer-Encoding"))
        return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request bodies are refused");
    if (strcmp(url, "/healthz") == 0) {
        static const char ok[] = "ok\n";
        return send_body(c, "text/plain; charset=utf-8", ok, 3, 0, NULL, "no-store", 1);
    }
    if (strncmp(url, "/api/", 5) == 0)
        return serve_api(srv, c, url, r);
    return serve_asset(srv, c, url);
}

int bw_serve_start(const bw_serve_opts *o, bw_server **out, bw_errbuf *eb)
{
    struct sockaddr_storage addr;
    socklen_t alen;
    int loopback, err = 0;
    bw_server *srv = NULL;
    bw_store *probe = NULL;
    *out = NULL;
    if (!o->listen || bw_listen_parse(o->listen, &addr, &alen, &loopback) != 0)
        return bw_errf(eb, BW_ERR_USAGE, "bad --listen '%s' (HOST:PORT, IPv6 as [ADDR]:PORT)",
                       o->listen ? o->listen : "");
    if (!loopback && (!o->token || !*o->token))
        return bw_errf(eb, BW_ERR_USAGE, "--listen %s is not a loopback address: give "
                       "--token so that the API is not open to the network", o->listen);
    if ((err = bw_store_open(o->store, BW_STORE_READONLY, &probe, eb)))
        return err;
    bw_store_close(probe);
    if (!(srv = calloc(1, sizeof *srv)))
        return bw_errf(eb, BW_ERR_NOMEM, "out of memory");
    srv->o = *o;
    if (!srv->o.max_conns)
        srv->o.max_conns = 256;
    if (!srv->o.timeout_s)
        srv->o.timeout_s = 30;
    if (!srv->o.cache_bytes)
        srv->o.cache_bytes = (size_t)64 << 20;
    if (!srv->o.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        srv->o.threads = n > 0 ? (unsigned)n : 1;
    }
    srv->store = strdup(o->store);
    srv->token = o->token && *o->token ? strdup(o->token) : NULL;
    srv->version = strdup(o->version ? o->version : "");
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->landed, NULL);
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t seed[3] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec, (uint64_t)getpid()};
        srv->nonce = fnv(0xcbf29ce484222325ULL, seed, sizeof seed);
    }
    if (!srv->store || !srv->version || (o->token && *o->token && !srv->token)) {
        err = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
        goto out;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, srv->o.threads, MHD_OPTION_CONNECTION_LIMIT,
        srv->o.max_conns, MHD_OPTION_CONNECTION_TIMEOUT, srv->o.timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
        srv, MHD_OPTION_NOTIFY_COMPLETED, on_done, srv, MHD_OPTION_END);
    if (!srv->d) {
        err = bw_errf(eb, BW_ERR_IO, "cannot listen on %s (address in use or not local?)",
                      o->listen);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    *out = srv;
    srv = NULL;
out:
    bw_serve_stop(srv);
    return err;
}

unsigned bw_serve_port(const bw_server *s)
{
    return s->port;
}

void bw_serve_stop(bw_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    for (size_t i = 0; i < s->nhandles; i++)
        bw_store_close(s->handles[i]);
    free(s->handles);
    cache_flush(s);
    pthread_cond_destroy(&s->landed);
    pthread_mutex_destroy(&s->lock);
    free(s->store);
    free(s->token);
    free(s->version);
    free(s);
}
