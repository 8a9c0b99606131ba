/* Decompressing reader over a file descriptor (see ingest_stream.h). gzip
 * goes through zlib (multi-member files, as `cat a.gz b.gz` makes, are
 * read to the end), zstd through libzstd's streaming API. */
#include "ingest_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_CAP (256 * 1024)

struct bw_stream {
    int fd;
    bw_comp comp;
    uint8_t head[4];
    size_t nhead, headpos;
    uint8_t *in;
    size_t in_len, in_pos;
    int in_eof;
    z_stream z;
    int z_ready, z_member_done;
    ZSTD_DCtx *zd;
    const char *problem;
    int done;
};

bw_comp bw_stream_comp(const bw_stream *s)
{
    return s->comp;
}

const char *bw_stream_problem(const bw_stream *s)
{
    return s->problem;
}

bw_stream *bw_stream_new(int fd, const uint8_t *head, size_t nhead)
{
    bw_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fd = fd;
    if (nhead > sizeof s->head)
        nhead = sizeof s->head;
    memcpy(s->head, head, nhead);
    s->nhead = nhead;
    if (nhead >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        s->comp = BW_COMP_GZIP;
    else if (nhead >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f &&
             head[3] == 0xfd)
        s->comp = BW_COMP_ZSTD;
    if (s->comp != BW_COMP_NONE) {
        s->in = malloc(IN_CAP);
        if (!s->in)
            goto fail;
    }
    if (s->comp == BW_COMP_GZIP) {
        if (inflateInit2(&s->z, 15 + 16) != Z_OK)
            goto fail;
        s->z_ready = 1;
    } else if (s->comp == BW_COMP_ZSTD) {
        if (!(s->zd = ZSTD_createDCtx()))
            goto fail;
    }
    return s;
fail:
    bw_stream_free(s);
    return NULL;
}

void bw_stream_free(bw_stream *s)
{
    if (!s)
        return;
    if (s->z_ready)
        inflateEnd(&s->z);
    ZSTD_freeDCtx(s->zd);
    free(s->in);
    free(s);
}

/* Raw bytes from the head replay, then the descriptor. */
static long raw_read(bw_stream *s, void *buf, size_t cap)
{
    if (s->headpos < s->nhead) {
        size_t k = s->nhead - s->headpos;
        if (k > cap)
            k = cap;
        memcpy(buf, s->head + s->headpos, k);
        s->headpos += k;
        return (long)k;
    }
    for (;;) {
        ssize_t r = read(s->fd, buf, cap);
        if (r < 0 && errno == EINTR)
            continue;
        return (long)r;
    }
}

/* Makes sure compressed input is available; 0 at end, -1 on error. */
static int refill(bw_stream *s)
{
    if (s->in_pos < s->in_len)
        return 1;
    if (s->in_eof)
        return 0;
    long r = raw_read(s, s->in, IN_CAP);
    if (r < 0)
        return -1;
    if (r == 0) {
        s->in_eof = 1;
        return 0;
    }
    s->in_len = (size_t)r;
    s->in_pos = 0;
    return 1;
}

static long read_gzip(bw_stream *s, char *buf, size_t cap)
{
    size_t out = 0;
    while (out < cap && !s->done) {
        int r = refill(s);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (!s->z_member_done)
                s->problem = "truncated gzip stream (ends mid-member)";
            s->done = 1;
            break;
        }
        if (s->z_member_done) {
            /* Another member follows (concatenated gzip files). */
            if (inflateReset(&s->z) != Z_OK) {
                s->problem = "gzip reset failed";
                s->done = 1;
                break;
            }
            s->z_member_done = 0;
        }
        s->z.next_in = s->in + s->in_pos;
        s->z.avail_in = (uInt)(s->in_len - s->in_pos);
        s->z.next_out = (Bytef *)buf + out;
        s->z.avail_out = (uInt)(cap - out);
        int zr = inflate(&s->z, Z_NO_FLUSH);
        s->in_pos = s->in_len - s->z.avail_in;
        out = cap - s->z.avail_out;
        if (zr == Z_STREAM_END) {
            s->z_member_done = 1;
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            s->problem = "corrupt gzip data";
            s->done = 1;
        }
    }
    return (long)out;
}

static long read_zstd(bw_stream *s, char *buf, size_t cap)
{
    ZSTD_outBuffer ob = {buf, cap, 0};
    while (ob.pos < ob.size && !s->done) {
        int r = refill(s);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (!s->z_member_done)
                s->problem = "truncated zstd stream (ends mid-frame)";
            s->done = 1;
            break;
        }
        ZSTD_inBuffer ib = {s->in, s->in_len, s->in_pos};
        size_t zr = ZSTD_decompressStream(s->zd, &ob, &ib);
        s->in_pos = ib.pos;
        if (ZSTD_isError(zr)) {
            s->problem = "corrupt zstd data";
            s->done = 1;
        } else {
            s->z_member_done = zr == 0;
        }
    }
    return (long)ob.pos;
}

long bw_stream_read(bw_stream *s, char *buf, size_t cap)
{
    switch (s->comp) {
    case BW_COMP_GZIP:
        return read_gzip(s, buf, cap);
    case BW_COMP_ZSTD:
        return read_zstd(s, buf, cap);
    default: {
        size_t out = 0;
        while (out < cap) {
            long r = raw_read(s, buf + out, cap - out);
            if (r < 0)
                return -1;
            if (r == 0)
                break;
            out += (size_t)r;
        }
        return (long)out;
    }
    }
}
