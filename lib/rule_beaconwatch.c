/* Rule `beaconwatch`: our own detector (SPEC §5, docs/detector.md). Every
 * session is kept, 12 bytes per group it feeds, in one append-only log per
 * hash shard for three groupings; finish() sorts each shard's log by group
 * (two threads), folds bursts into beats, estimates sleep and jitter, tests
 * the timing against random arrivals, combines the sources of each
 * destination (dst_port), controls false discoveries across all tests, and
 * scores what is left with popularity and benign fingerprints. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "detect_period.h"
#include "rule_impl.h"
#include "rule_lists.h"
#include "util_hex.h"
#include "util_sbuf.h"

#define TICK_US 4000LL           /* event time unit: 4 ms */
#define HALF_RANGE 2147483648LL  /* a group's first-event time: u32 ticks, +-99 days */
#define MAX_KEY 600              /* longest interned key */
#define MAX_NAME 255             /* longest host / process / domain used in a key */
#define BYTES_UNKNOWN 0x7ffu     /* 11-bit bytes codes (bytes_code) */
#define BYTES_TOP 0x7feu

/* The first three are stored groupings; dst_port is computed at finish()
 * from the src_dst_port series of each destination. */
enum { K_SDP = 0, K_HP, K_SD, K_DP, K__N };
#define SDP4_LEN 11 /* 'a' + K_SDP, the two IPv4 addresses, the port */
static const char *const kind_names[] = {"src_dst_port", "host_process", "src_domain",
                                         "dst_port"};
#define DP_SLEEP_SPREAD 1.1 /* dst_port: members' mean sleeps within this ratio */

/* ------------------------------------------------------------ lists */

/* The built-in benign fingerprints: identical to
 * config/lists/benign-fingerprints.txt (the unit test compares them). */
static const char default_benign[] =
    "# Benign periodic software for rule `beaconwatch` (docs/detector.md).\n"
    "# A finding whose group matches a line is still reported, but labelled with\n"
    "# the line's label and its score multiplied by beaconwatch.benign_weight\n"
    "# (default 0.3), so it ranks below C2 instead of being silently dropped.\n"
    "#\n"
    "# Format: LABEL field=pattern [field=pattern ...]   (all must match)\n"
    "#   process=GLOB   process name, case-insensitive, '*' and '?' wildcards\n"
    "#                  (only (host, process) groups have a process)\n"
    "#   domain=GLOB    destination domain / SNI, case-insensitive\n"
    "#                  (only (src, dst_domain) groups have a domain)\n"
    "#   dport=N        destination port of the group (its first session)\n"
    "#   dst=CIDR       destination address of the group (its first session)\n"
    "# Extend it with --set beaconwatch.benign_file=PATH (entries are added to\n"
    "# this built-in list; beaconwatch.benign_builtin=off first drops it).\n"
    "# Keep process names specific: implants hide behind svchost.exe too, so\n"
    "# svchost.exe is only benign together with the NTP port.\n"
    "\n"
    "# time synchronisation\n"
    "ntp                 dport=123\n"
    "ntp                 process=timed\n"
    "ntp                 process=chronyd\n"
    "ntp                 process=ntpd\n"
    "ntp                 domain=time.windows.com\n"
    "ntp                 domain=*.pool.ntp.org\n"
    "\n"
    "# endpoint security agents\n"
    "edr-defender        process=MsSense.exe\n"
    "edr-defender        process=wdavdaemon\n"
    "edr-defender        process=mdatp\n"
    "edr-defender        domain=*.endpoint.security.microsoft.com\n"
    "edr-crowdstrike     process=CSFalconService.exe\n"
    "edr-crowdstrike     domain=*.cloudsink.net\n"
    "edr-sentinelone     process=SentinelAgent.exe\n"
    "av-eset             process=ekrn.exe\n"
    "av-eset             domain=*.eset.com\n"
    "\n"
    "# update agents\n"
    "update-google       process=GoogleUpdate.exe\n"
    "update-apple        process=softwareupdated\n"
    "update-linux        process=packagekitd\n"
    "update-windows      domain=*.windowsupdate.com\n"
    "update-windows      domain=*.delivery.mp.microsoft.com\n"
    "\n"
    "# telemetry\n"
    "telemetry-apple     process=analyticsd\n"
    "telemetry-microsoft domain=*.events.data.microsoft.com\n"
    "\n"
    "# sync clients\n"
    "sync-dropbox        process=dropbox*\n"
    "sync-dropbox        domain=*.dropbox.com\n";

typedef struct fp_cond {
    uint8_t field; /* F_* */
    char *pat;     /* glob for names; NULL for numbers and ranges */
    int port;
    bw_cidr cidr;
} fp_cond;
enum { F_PROCESS, F_DOMAIN, F_DPORT, F_DST };

typedef struct fingerprint {
    char *label;
    fp_cond *c;
    int nc;
} fingerprint;

typedef struct fplist {
    fingerprint *f;
    size_t n;
} fplist;

static void fplist_clear(fplist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->f[i].label);
        for (int k = 0; k < l->f[i].nc; k++)
            free(l->f[i].c[k].pat);
        free(l->f[i].c);
    }
    free(l->f);
    l->f = NULL;
    l->n = 0;
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Parses "LABEL field=pattern [field=pattern ...]" lines; '#' comments. */
static int fplist_parse(fplist *l, const char *text, size_t len, const char *origin,
                        bw_errbuf *eb)
{
    fplist nl = {0};
    size_t cap = 0;
    int err = 0, lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        lineno++;
        const char *hash = memchr(p, '#', (size_t)(eol - p));
        const char *le = hash ? hash : eol;
        const char *tok[17];
        size_t tl[17];
        int nt = 0;
        for (const char *q = p; q < le;) {
            while (q < le && isspace((unsigned char)*q))
                q++;
            if (q >= le)
                break;
            const char *s = q;
            while (q < le && !isspace((unsigned char)*q))
                q++;
            if (nt == 17) {
                err = bw_errf(eb, BW_ERR_CONFIG, "%s:%d: more than 16 conditions", origin,
                              lineno);
                goto out;
            }
            tok[nt] = s;
            tl[nt++] = (size_t)(q - s);
        }
        p = eol + 1;
        if (nt == 0)
            continue;
        if (nt < 2) {
            err = bw_errf(eb, BW_ERR_CONFIG, "%s:%d: expected a label and at least one "
                          "field=pattern", origin, lineno);
            goto out;
        }
        if (nl.n == cap) {
            cap = cap ? cap * 2 : 16;
            fingerprint *nf = realloc(nl.f, cap * sizeof *nf);
            if (!nf) {
                err = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
                goto out;
            }
            nl.f = nf;
        }
        fingerprint *f = &nl.f[nl.n];
        memset(f, 0, sizeof *f);
        nl.n++;
        f->label = dupn(tok[0], tl[0]);
        f->c = calloc((size_t)nt - 1, sizeof *f->c);
        if (!f->label || !f->c) {
            err = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (int k = 1; k < nt; k++) {
            const char *eq = memchr(tok[k], '=', tl[k]);
            fp_cond *c = &f->c[f->nc];
            if (!eq || eq == tok[k] || eq + 1 == tok[k] + tl[k]) {
                err = bw_errf(eb, BW_ERR_CONFIG, "%s:%d: '%.*s': expected field=pattern",
                              origin, lineno, (int)tl[k], tok[k]);
                goto out;
            }
            size_t fl = (size_t)(eq - tok[k]), vl = tl[k] - fl - 1;
            const char *v = eq + 1;
            if (fl == 7 && !memcmp(tok[k], "process", 7)) {
                c->field = F_PROCESS;
            } else if (fl == 6 && !memcmp(tok[k], "domain", 6)) {
                c->field = F_DOMAIN;
            } else if (fl == 5 && !memcmp(tok[k], "dport", 5)) {
                c->field = F_DPORT;
                char *e2;
                char num[8];
                if (vl == 0 || vl >= sizeof num)
                    goto badval;
                memcpy(num, v, vl);
                num[vl] = '\0';
                errno = 0;
                long pv = strtol(num, &e2, 10);
                if (*e2 || pv < 0 || pv > 65535)
                    goto badval;
                c->port = (int)pv;
            } else if (fl == 3 && !memcmp(tok[k], "dst", 3)) {
                c->field = F_DST;
                if (bw_cidr_parse(v, vl, &c->cidr) != 0) {
                    bw_ip ip;
                    if (bw_ip_parse(v, vl, &ip) != 0)
                        goto badval;
                    c->cidr.net = ip;
                    c->cidr.bits = ip.family == 4 ? 32 : 128;
                }
            } else {
                err = bw_errf(eb, BW_ERR_CONFIG, "%s:%d: unknown field '%.*s' (process, "
                              "domain, dport, dst)", origin, lineno, (int)fl, tok[k]);
                goto out;
            }
            if (c->field == F_PROCESS || c->field == F_DOMAIN) {
                if (!(c->pat = dupn(v, vl))) {
                    err = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
                    goto out;
                }
            }
            f->nc++;
            continue;
        badval:
            err = bw_errf(eb, BW_ERR_CONFIG, "%s:%d: bad value in '%.*s'", origin, lineno,
                          (int)tl[k], tok[k]);
            goto out;
        }
    }
out:
    if (err) {
        fplist_clear(&nl);
        return err;
    }
    fplist_clear(l);
    *l = nl;
    return 0;
}

static int fplist_dup(fplist *to, const fplist *from)
{
    memset(to, 0, sizeof *to);
    if (!from->n)
        return 0;
    if (!(to->f = calloc(from->n, sizeof *to->f)))
        return BW_ERR_NOMEM;
    to->n = from->n;
    for (size_t i = 0; i < from->n; i++) {
        const fingerprint *s = &from->f[i];
        fingerprint *d = &to->f[i];
        d->label = dupn(s->label, strlen(s->label));
        d->c = calloc((size_t)s->nc, sizeof *d->c);
        if (!d->label || !d->c)
            return BW_ERR_NOMEM;
        for (int k = 0; k < s->nc; k++) {
            d->c[k] = s->c[k];
            d->c[k].pat = NULL;
            if (s->c[k].pat && !(d->c[k].pat = dupn(s->c[k].pat, strlen(s->c[k].pat))))
                return BW_ERR_NOMEM;
            d->nc = k + 1;
        }
        d->nc = s->nc;
    }
    return 0;
}

/* Case-insensitive glob with '*' and '?'. */
static int glob_match(const char *pat, const char *s, size_t n)
{
    size_t i = 0;
    const char *star = NULL;
    size_t star_i = 0;
    while (i < n) {
        if (*pat == '*') {
            star = pat++;
            star_i = i;
        } else if (*pat && (*pat == '?' || tolower((unsigned char)*pat) ==
                                               tolower((unsigned char)s[i]))) {
            pat++;
            i++;
        } else if (star) {
            pat = star + 1;
            i = ++star_i;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

/* ------------------------------------------------------------ state */

/* Groups live in NSHARD shards picked by the top bits of the key's hash, so
 * that merge() and finish() can work on shards in parallel and finish()
 * can sort one shard's events at a time in cache. Within its shard a group
 * is named by the word offset of its record in the shard's arena (its
 * local id: no id -> record array is needed), across shards by
 * (local id << SHARD_BITS | shard). */
#define SHARD_BITS 6
#define NSHARD (1 << SHARD_BITS)
#define LOCAL_BITS 24
#define LOCAL_MAX (1u << LOCAL_BITS) /* words in a shard's arena (REF + 1 < 2^31) */
#define REF(sh, local) ((uint32_t)(local) << SHARD_BITS | (uint32_t)(sh))
#define REF_SHARD(ref) ((ref) & (NSHARD - 1))
#define REF_LOCAL(ref) ((ref) >> SHARD_BITS)
#define BLOCK_MIN 256  /* events in a shard's first log block */
#define BLOCK_MAX (16384 - 3) /* ... and at most: 128 KiB with the header, so mmapped */

/* One event in a shard's append-only log is 8 bytes: the group (local id,
 * 24 bits), the time in ticks from its block's base (18 bits: 17 min),
 * and each direction's bytes code (11 bits each). A block's base is set
 * DT_SLACK before its first event, so that events up to 4 min out of order
 * still fit; the log moves to a new block when time passes the block's
 * range. An event earlier than the current block's base (a long
 * connection logged when it ended, files read out of order) goes to the
 * shard's wide log instead: two words, the absolute ticks and the same
 * packed word with a zero time. */
#define EV_GID_SHIFT 40
#define EV_DT_SHIFT 22
#define DT_BITS 18
#define DT_RANGE (1LL << DT_BITS)
#define DT_SLACK (1LL << 16)
#define EV_LOW(gid, sb, db) ((uint64_t)(gid) << EV_GID_SHIFT | (uint64_t)(sb) << 11 | (db))
#define EV_GID(e) ((uint32_t)((e) >> EV_GID_SHIFT))
#define EV_DT(e) ((int64_t)((e) >> EV_DT_SHIFT) & (DT_RANGE - 1))
#define EV_BYTES(e) ((e) & ((1u << 22) - 1)) /* sb << 11 | db */
/* finish() sorts each group's events as (ticks from tmin) << 22 | bytes */
#define SORT_TIME(k) ((k) >> 22)
#define SORT_TMAX ((1LL << 42) - 1)

typedef struct evblock {
    struct evblock *next;
    int64_t base; /* ticks of dt 0 (narrow blocks) */
    uint32_t n, cap; /* events; words (narrow: 1 per event, wide: 2) */
    uint64_t e[];
} evblock;

/* A group's record in its shard's arena: the event count, then the key
 * (padded to 4 bytes; its length follows from its bytes), then, unless
 * the group is a src_dst_port one made from a record without a process,
 * two words (its "first" words): the time of its first event (ticks from
 * the epoch) and that event's host_process group (REF + 1; 0 none), then
 * for host_process and src_domain groups one word, the index of the first
 * event's addresses and port in the shard's aux. A src_dst_port key holds
 * those itself and is 1 byte short of a word, so that byte says whether
 * the first words follow: the commonest record (IPv4 pair, no process) is
 * 16 bytes. The kind is the key's first byte ('A' + K_*; 'a' + K_SDP for
 * the short form of an IPv4 pair, see put_sdp). */
typedef struct group {
    uint32_t n; /* events kept */
} group;

/* The first event's addresses and destination port of a host_process or
 * src_domain group. */
typedef struct gaux {
    bw_ip src, dst;
    uint16_t dport; /* 0xffff none */
} gaux;

/* One origin's event log in a shard: narrow blocks, and the wide log for
 * out-of-order events. */
typedef struct evlog {
    evblock *head, *tail, **tail_link; /* tail_link: the pointer to tail */
    evblock *whead, *wtail;
} evlog;

/* Instances made with clone_shared() add to one set of shards (a core),
 * each shard under its lock, so that a group two workers both see is held
 * once and no merge is needed; each instance appends to its own log in
 * every shard (its origin), so every log stays in its input's time order.
 * More instances than MAX_ORIGIN share logs (correct, but their events
 * then interleave and more of them go to the wide log). */
#define MAX_ORIGIN 16

typedef struct shard {
    uint32_t *w; /* records (group + key), in 4-byte words */
    size_t wn, wcap;
    uint32_t n; /* groups */
    uint32_t *table; /* 7 bits of the hash << LOCAL_BITS | local id + 1; 0 empty */
    size_t tcap;
    gaux *aux;
    uint32_t naux, capaux;
    evlog log[MAX_ORIGIN];
    size_t nev; /* events in all logs */
    /* first words of src_dst_port groups made without them (by a record
     * without a process) once a record with one comes: local id + 1,
     * first, hp per entry, open addressing by local id; 0 empty */
    uint32_t *sdx;
    uint32_t nsdx, capsdx;
    pthread_mutex_t mu;
} shard;

typedef struct core {
    _Atomic int refs; /* instances using it */
    int norigin;      /* origins handed out (clone_shared) */
    _Atomic size_t ngroups;              /* updated once per flush */
    _Atomic unsigned long long events;  /* likewise */
    _Atomic int64_t epoch; /* ticks of t = 0 in the logs; INT64_MIN before the first event */
    shard sh[NSHARD];
} core;

#define GRP(s, local) ((group *)((s)->w + (local)))
#define PEND_RECS 4096          /* records an instance queues before a flush */
#define PEND_KEYS (256 * 1024)  /* bytes of their keys */
#define NH_BYTES 40 /* keys up to this long are hashed with NH (keyhash) */
#define NH_WORDS (NH_BYTES / 4)
#define KEY(g) ((char *)((g) + 1))
#define TAG(hv) ((uint32_t)((hv) >> 32) << LOCAL_BITS) /* hash bits 32..38 */
#define SLOT_LOCAL(e) (((e) & (LOCAL_MAX - 1)) - 1)

typedef struct counters {
    unsigned long long offered, kept, events, no_addr, no_time, internal_dst, cap_groups,
        cap_events, out_of_order;
} counters;

typedef struct bwrule {
    /* parameters */
    int min_beats;
    double fdr, threshold, benign_weight;
    size_t max_groups, max_events_group;
    unsigned long long max_events;
    int groupings; /* bit per K_* */
    double dp_p;   /* dst_port: sources with a p-value up to this take part */
    int dp_min;    /* dst_port: at least this many sources with similar sleeps */
    int keep_internal;
    bw_cidr_list *internal;
    fplist benign;
    int benign_builtin;
    char benign_file[256]; /* "" = none */
    /* data */
    uint64_t k0, k1;     /* SipHash key */
    uint32_t nhk[NH_WORDS + 2]; /* NH key (keyhash) */
    uint64_t nhz[NH_WORDS / 2 + 1]; /* nhz[p]: sum of NH's products of pairs p.. of zeros */
    core *co;
    shard *sh; /* co->sh */
    int origin;
    int64_t min_us, max_us;
    counters c;
    size_t mem_peak; /* bytes of the state when finish() started */
    /* add() queues records and flush() looks their groups up shard by
     * shard, each shard once under its lock, with the memory loads of the
     * next lookups prefetched (allocated at the first add) */
    struct pend_rec {
        int64_t ticks;
        uint32_t hp; /* its host_process group, REF + 1, set by flush */
        uint16_t sb, db, dport;
        uint8_t hasproc; /* it has a host and a process */
    } *prec;
    /* a record's addresses, apart (24 bytes a record instead of 56 while
     * flush reads the queue in shard order) and only where take_first
     * will read them */
    struct pend_ips {
        bw_ip src, dst;
    } *pips;
    struct pend_op {
        uint64_t hv;
        uint32_t koff, rec;
        uint32_t local; /* host_process ops: set by flush's first pass */
        uint16_t klen;
        uint8_t kind;
    } *pop;
    struct pend_op *psort; /* the ops again, by shard (flush walks them in order) */
    uint32_t nprec, npop, nhp;
    size_t pkeys_n;
    char *pkeys;
    unsigned long long tested, reported, alerts, benign_found;
    int added;
} bwrule;

/* SipHash-1-3: group keys are attacker-controlled (see keyhash). */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
static uint64_t siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const unsigned char *in = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = (uint64_t)len << 56;
    size_t i = 0;
#define SR                                                                                 \
    do {                                                                                   \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                          \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                             \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                             \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                          \
    } while (0)
    for (; i + 8 <= len; i += 8) {
        uint64_t m;
        memcpy(&m, in + i, 8);
        v3 ^= m;
        SR;
        v0 ^= m;
    }
    for (size_t k = 0; i + k < len; k++)
        b |= (uint64_t)in[i + k] << (8 * k);
    v3 ^= b;
    SR;
    v0 ^= b;
    v2 ^= 0xff;
    SR;
    SR;
    SR;
#undef SR
    return v0 ^ v1 ^ v2 ^ v3;
}

/* The hash of a group key. Keys are attacker-controlled (anyone can send
 * connections that end up in the logs), so the hash is keyed with random
 * bits drawn per run: a table's probe lengths then do not depend on which
 * keys the input holds. Keys up to NH_BYTES (every src_dst_port key, and
 * short names) take NH, UMAC's hash (RFC 4418): the key's 32-bit words
 * plus the NH key, multiplied in pairs and summed mod 2^64, which for two
 * different keys collides with probability at most 2^-32 over the random
 * NH key; murmur3's 64-bit finalizer (a bijection, so it adds no
 * collisions) then spreads it over all the bits that pick the shard, the
 * slot and the tag. Pairs of the zero padding add a constant (nhz). The
 * length is a word of its own, so a key and the key plus a zero byte
 * differ. Longer keys take SipHash-1-3. The short key of an IPv4 pair
 * takes NH over its values instead (sdp4_hash: the words source,
 * destination and port; its first byte and length never vary). NH costs 2
 * multiplies for an IPv4 pair against SipHash's ~145 instructions: 10 M
 * lookups and rehashes. */
static uint64_t nh_final(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* NH of the short key of an IPv4 pair (put_sdp) from its values: the two
 * addresses (their 4 bytes as one word each) and the port, so that add()
 * hashes without reading back the key it has just written (a load that
 * spans several smaller stores waits for them to retire). */
static uint64_t sdp4_hash(const bwrule *r, uint32_t src, uint32_t dst, unsigned port)
{
    uint64_t h = (uint64_t)(uint32_t)(src + r->nhk[0]) * (uint32_t)(dst + r->nhk[1]);
    h += (uint64_t)(uint32_t)(port + r->nhk[2]) * r->nhk[3];
    return nh_final(h + r->nhz[2]);
}

static uint64_t keyhash(const bwrule *r, const char *key, size_t n)
{
    if (n == SDP4_LEN && key[0] == 'a' + K_SDP) {
        uint32_t src, dst;
        memcpy(&src, key + 1, 4);
        memcpy(&dst, key + 5, 4);
        return sdp4_hash(r, src, dst, (unsigned char)key[9] << 8 | (unsigned char)key[10]);
    }
    if (n > NH_BYTES)
        return siphash13(r->k0, r->k1, key, n);
    uint32_t m[NH_WORDS] = {0};
    memcpy(m, key, n);
    size_t pairs = (n + 7) / 8;
    uint64_t h = r->nhz[pairs];
    for (size_t i = 0; i < pairs; i++)
        h += (uint64_t)(uint32_t)(m[2 * i] + r->nhk[2 * i]) *
             (uint32_t)(m[2 * i + 1] + r->nhk[2 * i + 1]);
    h += (uint64_t)(uint32_t)((uint32_t)n + r->nhk[NH_WORDS]) * r->nhk[NH_WORDS + 1];
    return nh_final(h);
}

static void seed(bwrule *r)
{
    uint64_t k[2] = {0, 0};
    if (getentropy(k, sizeof k) != 0 || getentropy(r->nhk, sizeof r->nhk) != 0) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        k[0] = (uint64_t)tv.tv_sec * 1000003u ^ (uint64_t)tv.tv_usec;
        k[1] = (uint64_t)(uintptr_t)r ^ ((uint64_t)getpid() << 32);
        uint64_t x = k[0] ^ k[1];
        for (size_t i = 0; i < sizeof r->nhk / sizeof *r->nhk; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            r->nhk[i] = (uint32_t)(x >> 32);
        }
    }
    r->k0 = k[0];
    r->k1 = k[1];
    r->nhz[NH_WORDS / 2] = 0;
    for (size_t p = NH_WORDS / 2; p-- > 0;)
        r->nhz[p] = r->nhz[p + 1] + (uint64_t)r->nhk[2 * p] * r->nhk[2 * p + 1];
}

static void blocks_free(evblock *b)
{
    for (evblock *nb; b; b = nb) {
        nb = b->next;
        free(b);
    }
}

/* Frees a shard's groups and logs; its lock stays. */
static void shard_clear(shard *s)
{
    for (int o = 0; o < MAX_ORIGIN; o++) {
        blocks_free(s->log[o].head);
        blocks_free(s->log[o].whead);
    }
    free(s->w);
    free(s->table);
    free(s->aux);
    free(s->sdx);
    pthread_mutex_t mu = s->mu;
    memset(s, 0, sizeof *s);
    s->mu = mu;
}

static core *core_new(void)
{
    core *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->norigin = 1;
    atomic_init(&c->ngroups, 0);
    atomic_init(&c->events, 0);
    atomic_init(&c->epoch, INT64_MIN);
    for (int i = 0; i < NSHARD; i++)
        pthread_mutex_init(&c->sh[i].mu, NULL);
    return c;
}

/* Drops the groups and events (of every instance sharing the core). */
static void core_clear(core *c)
{
    for (int i = 0; i < NSHARD; i++)
        shard_clear(&c->sh[i]);
    atomic_store(&c->ngroups, 0);
    atomic_store(&c->events, 0);
    atomic_store(&c->epoch, INT64_MIN);
}

static void core_release(core *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    core_clear(c);
    for (int i = 0; i < NSHARD; i++)
        pthread_mutex_destroy(&c->sh[i].mu);
    free(c);
}

static void pend_free(bwrule *r)
{
    free(r->prec);
    free(r->pips);
    free(r->pop);
    free(r->psort);
    free(r->pkeys);
    r->prec = NULL;
    r->pips = NULL;
    r->pop = NULL;
    r->psort = NULL;
    r->pkeys = NULL;
    r->nprec = r->npop = r->nhp = 0;
    r->pkeys_n = 0;
}

static void destroy(void *st)
{
    bwrule *r = st;
    if (!r)
        return;
    core_release(r->co);
    pend_free(r);
    bw_cidr_list_free(r->internal);
    fplist_clear(&r->benign);
    free(r);
}

static const char *const internal_default[] = {
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
    "224.0.0.0/4", "255.255.255.255/32", "fc00::/7", "fe80::/10", "ff00::/8", "::1/128"};

static void defaults(bwrule *r)
{
    r->min_beats = 8;
    r->fdr = 0.01;
    r->threshold = 0.5;
    r->benign_weight = 0.3;
    r->max_groups = 4000000;
    r->max_events_group = 1000000;
    r->max_events = 2000000000ULL;
    r->groupings = (1 << K_SDP) | (1 << K_HP) | (1 << K_SD) | (1 << K_DP);
    r->dp_p = 0.05;
    r->dp_min = 3;
    r->benign_builtin = 1;
    r->min_us = INT64_MAX;
    r->max_us = INT64_MIN;
}

static void *create(const char *variant)
{
    (void)variant;
    bwrule *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    defaults(r);
    seed(r);
    if (!(r->co = core_new())) {
        free(r);
        return NULL;
    }
    r->sh = r->co->sh;
    bw_errbuf eb;
    if (!(r->internal = bw_cidr_list_new()))
        goto fail;
    for (size_t i = 0; i < sizeof internal_default / sizeof *internal_default; i++) {
        bw_cidr c;
        if (bw_cidr_parse(internal_default[i], strlen(internal_default[i]), &c) != 0 ||
            bw_cidr_list_add(r->internal, &c) != 0)
            goto fail;
    }
    if (fplist_parse(&r->benign, default_benign, sizeof default_benign - 1, "built-in", &eb))
        goto fail;
    return r;
fail:
    destroy(r);
    return NULL;
}

/* An empty instance with st's parameters and hash keys: with its own core,
 * or (shared) adding to st's core under a new origin. Instances sharing a
 * core must all be merged into one of them before it finishes. */
static void *clone_with(const void *st, int shared)
{
    const bwrule *s = st;
    bwrule *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (shared) {
        r->co = s->co;
        atomic_fetch_add(&r->co->refs, 1);
        r->origin = r->co->norigin++ % MAX_ORIGIN;
    } else if (!(r->co = core_new())) {
        free(r);
        return NULL;
    }
    r->sh = r->co->sh;
    r->min_beats = s->min_beats;
    r->fdr = s->fdr;
    r->threshold = s->threshold;
    r->benign_weight = s->benign_weight;
    r->max_groups = s->max_groups;
    r->max_events_group = s->max_events_group;
    r->max_events = s->max_events;
    r->groupings = s->groupings;
    r->dp_p = s->dp_p;
    r->dp_min = s->dp_min;
    r->keep_internal = s->keep_internal;
    memcpy(r->benign_file, s->benign_file, sizeof r->benign_file);
    r->benign_builtin = s->benign_builtin;
    r->k0 = s->k0;
    r->k1 = s->k1;
    memcpy(r->nhk, s->nhk, sizeof r->nhk);
    memcpy(r->nhz, s->nhz, sizeof r->nhz);
    r->min_us = INT64_MAX;
    r->max_us = INT64_MIN;
    if (!(r->internal = bw_cidr_list_dup(s->internal)) || fplist_dup(&r->benign, &s->benign)) {
        destroy(r);
        return NULL;
    }
    return r;
}

static void *clone_state(const void *st)
{
    return clone_with(st, 0);
}

static void *clone_shared(const void *st)
{
    return clone_with(st, 1);
}

/* ------------------------------------------------------------ params */

static int parse_num(const char *v, double lo, double hi, double *out)
{
    char *e;
    errno = 0;
    double x = strtod(v, &e);
    if (e == v || *e || errno || !(x >= lo && x <= hi))
        return -1;
    *out = x;
    return 0;
}

static int bad(const char *key, const char *value, const char *acc, bw_errbuf *eb)
{
    return bw_errf(eb, BW_ERR_CONFIG, "beaconwatch.%s = '%.100s': expected %s", key, value,
                   acc);
}

static int read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int err = 0;
    if (!f)
        return -1;
    for (;;) {
        if (cap - n < 4096) {
            if (cap > (16u << 20)) {
                err = -1;
                goto out;
            }
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                err = -1;
                goto out;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        err = -1;
out:
    fclose(f);
    if (err) {
        free(buf);
        return -1;
    }
    if (!buf && !(buf = malloc(1)))
        return -1;
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

/* The benign list = the built-in entries (when on) + the user file's. */
static int rebuild_benign(bwrule *r, int builtin, const char *path, bw_errbuf *eb)
{
    fplist nl = {0}, add = {0};
    char *text = NULL;
    size_t len = 0;
    int err = 0;
    if (builtin &&
        (err = fplist_parse(&nl, default_benign, sizeof default_benign - 1, "built-in", eb)))
        goto out;
    if (path[0]) {
        errno = 0;
        if (read_file(path, &text, &len) != 0) {
            err = bw_errf(eb, BW_ERR_CONFIG, "beaconwatch.benign_file = '%.100s': cannot "
                          "read it: %s", path, strerror(errno ? errno : EIO));
            goto out;
        }
        if ((err = fplist_parse(&add, text, len, path, eb)))
            goto out;
        if (add.n) {
            fingerprint *nf = realloc(nl.f, (nl.n + add.n) * sizeof *nf);
            if (!nf) {
                err = bw_errf(eb, BW_ERR_NOMEM, "out of memory");
                goto out;
            }
            nl.f = nf;
            memcpy(nf + nl.n, add.f, add.n * sizeof *nf);
            nl.n += add.n;
            free(add.f);
            add.f = NULL;
            add.n = 0;
        }
    }
    fplist_clear(&r->benign);
    r->benign = nl;
    nl.f = NULL;
    nl.n = 0;
    r->benign_builtin = builtin;
    if (path != r->benign_file)
        snprintf(r->benign_file, sizeof r->benign_file, "%s", path);
out:
    fplist_clear(&nl);
    fplist_clear(&add);
    free(text);
    return err;
}

static int set(void *st, const char *key, const char *value, bw_errbuf *eb)
{
    bwrule *r = st;
    double x;
    if (r->added)
        return bw_errf(eb, BW_ERR_CONFIG, "beaconwatch.%s: parameters cannot change after "
                       "records were added", key);
    if (!strcmp(key, "min_beats")) {
        if (parse_num(value, 4, 1e6, &x) || x != floor(x))
            return bad(key, value, "an integer 4..1000000", eb);
        r->min_beats = (int)x;
    } else if (!strcmp(key, "fdr")) {
        if (parse_num(value, 1e-12, 1, &x))
            return bad(key, value, "a number in (0, 1]", eb);
        r->fdr = x;
    } else if (!strcmp(key, "threshold")) {
        if (parse_num(value, 0, 1, &x))
            return bad(key, value, "a number 0..1", eb);
        r->threshold = x;
    } else if (!strcmp(key, "benign_weight")) {
        if (parse_num(value, 0, 1, &x))
            return bad(key, value, "a number 0..1", eb);
        r->benign_weight = x;
    } else if (!strcmp(key, "max_groups")) {
        if (parse_num(value, 1, 1e8, &x) || x != floor(x))
            return bad(key, value, "an integer 1..100000000", eb);
        r->max_groups = (size_t)x;
    } else if (!strcmp(key, "max_events_per_group")) {
        if (parse_num(value, 16, 1e8, &x) || x != floor(x))
            return bad(key, value, "an integer 16..100000000", eb);
        r->max_events_group = (size_t)x;
    } else if (!strcmp(key, "max_events")) {
        if (parse_num(value, 1, 1e11, &x) || x != floor(x))
            return bad(key, value, "an integer 1..100000000000", eb);
        r->max_events = (unsigned long long)x;
    } else if (!strcmp(key, "group_by")) {
        int g = 0;
        const char *p = value;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            int found = 0;
            for (int k = 0; k < K__N; k++)
                if (strlen(kind_names[k]) == n && !memcmp(kind_names[k], p, n)) {
                    g |= 1 << k;
                    found = 1;
                }
            if (!found)
                return bad(key, value, "a comma-separated list of src_dst_port, "
                           "host_process, src_domain, dst_port", eb);
            p += n + (e ? 1 : 0);
        }
        if (!g)
            return bad(key, value, "at least one grouping", eb);
        if ((g & (1 << K_DP)) && !(g & (1 << K_SDP)))
            return bad(key, value, "src_dst_port with dst_port (dst_port combines the "
                       "src_dst_port series of each destination)", eb);
        r->groupings = g;
    } else if (!strcmp(key, "dst_port_p")) {
        if (parse_num(value, 1e-12, 1, &x))
            return bad(key, value, "a number in (0, 1]", eb);
        r->dp_p = x;
    } else if (!strcmp(key, "dst_port_min_sources")) {
        if (parse_num(value, 2, 1e6, &x) || x != floor(x))
            return bad(key, value, "an integer 2..1000000", eb);
        r->dp_min = (int)x;
    } else if (!strcmp(key, "internal_destinations")) {
        if (!strcmp(value, "skip"))
            r->keep_internal = 0;
        else if (!strcmp(value, "keep"))
            r->keep_internal = 1;
        else
            return bad(key, value, "skip or keep", eb);
    } else if (!strcmp(key, "internal")) {
        bw_cidr_list *l = bw_cidr_list_new();
        if (!l)
            return bw_errf(eb, BW_ERR_NOMEM, "out of memory");
        int err = bw_cidr_list_parse(l, value, strlen(value), "beaconwatch.internal", eb);
        if (err) {
            bw_cidr_list_free(l);
            return err;
        }
        bw_cidr_list_free(r->internal);
        r->internal = l;
    } else if (!strcmp(key, "benign_file")) {
        const char *path = !strcmp(value, "none") ? "" : value;
        if (strlen(path) >= sizeof r->benign_file)
            return bad(key, value, "a path shorter than 256 bytes, or none", eb);
        return rebuild_benign(r, r->benign_builtin, path, eb);
    } else if (!strcmp(key, "benign_builtin")) {
        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
            return bad(key, value, "on or off", eb);
        return rebuild_benign(r, !strcmp(value, "on"), r->benign_file, eb);
    } else {
        return bw_errf(eb, BW_ERR_CONFIG, "beaconwatch.%s: unknown parameter (min_beats, fdr, "
                       "threshold, benign_weight, benign_file, benign_builtin, group_by, "
                       "dst_port_p, dst_port_min_sources, "
                       "internal, internal_destinations, max_groups, max_events_per_group, "
                       "max_events)", key);
    }
    return 0;
}

static size_t params(const void *st, char *buf, size_t cap)
{
    const bwrule *r = st;
    char gb[80] = "", internal[1024];
    for (int k = 0; k < K__N; k++) {
        if (r->groupings & (1 << k)) {
            if (gb[0])
                strcat(gb, ",");
            strcat(gb, kind_names[k]);
        }
    }
    bw_cidr_list_format(r->internal, internal, sizeof internal);
    int n = snprintf(buf, cap,
                     "min_beats = %d\nfdr = %g\nthreshold = %g\nbenign_weight = %g\n"
                     "benign_builtin = %s\nbenign_file = %s\ngroup_by = %s\n"
                     "dst_port_p = %g\ndst_port_min_sources = %d\ninternal = %s\n"
                     "internal_destinations = %s\nmax_groups = %zu\n"
                     "max_events_per_group = %zu\nmax_events = %llu\n"
                     "# %zu benign fingerprints\n",
                     r->min_beats, r->fdr, r->threshold, r->benign_weight,
                     r->benign_builtin ? "on" : "off",
                     r->benign_file[0] ? r->benign_file : "none", gb, r->dp_p, r->dp_min,
                     internal,
                     r->keep_internal ? "keep" : "skip", r->max_groups, r->max_events_group,
                     r->max_events, r->benign.n);
    return n < 0 ? 0 : (size_t)n;
}

/* ------------------------------------------------------------ add */

/* Bytes in 11 bits: exact below 1024, else 6 significant bits (1024 +
 * 32 per power of two; read back as the middle of the code's range, within
 * 1.6 %), saturating at 2^42. */
static uint16_t bytes_code(int64_t v)
{
    if (v == BW_UNSET || v < 0)
        return BYTES_UNKNOWN;
    if (v < 1024)
        return (uint16_t)v;
    int hb = 63 - __builtin_clzll((unsigned long long)v);
    unsigned c = 1024u + (unsigned)(hb - 10) * 32u + (unsigned)((v >> (hb - 5)) & 31);
    return (uint16_t)(c > BYTES_TOP ? BYTES_TOP : c);
}

static double bytes_value(unsigned c)
{
    if (c == BYTES_UNKNOWN)
        return -1;
    if (c < 1024)
        return c;
    return ldexp(32.5 + (double)((c - 1024) % 32), (int)(c - 1024) / 32 + 5);
}

/* The kind of a key ('A' + K_*, or 'a' + K_SDP: an IPv4 pair). */
static int key_kind(const char *k)
{
    return (k[0] | 0x20) - 'a';
}

static int kind_of(const shard *s, const group *g)
{
    (void)s;
    return key_kind(KEY(g));
}

/* Keys are self-delimiting (see put_ip, put_name), so records need not
 * store their length. */
static size_t key_len_long(const char *k)
{
    size_t n = 1;
    switch (k[0] - 'A') {
    case K_SDP:
        n += k[n] == 4 ? 5 : 17;
        n += k[n] == 4 ? 5 : 17;
        return n + 2;
    case K_HP:
        n += 1 + (size_t)(unsigned char)k[n];
        return n + 1 + (size_t)(unsigned char)k[n];
    default:
        n += k[n] == 4 ? 5 : 17;
        return n + 1 + (size_t)(unsigned char)k[n];
    }
}

/* The short key of an IPv4 pair (the commonest) without a call: lookups
 * and every walk over an arena ask for it. */
static inline size_t key_len(const char *k)
{
    return k[0] == 'a' + K_SDP ? SDP4_LEN : key_len_long(k);
}

/* Words of a record of this kind and key length, with or without the
 * first words (always with them unless src_dst_port). */
static size_t rec_words_of(int kind, size_t klen, int first)
{
    return sizeof(group) / 4 + (klen + 3) / 4 + (first || kind != K_SDP ? 2 : 0) +
           (kind != K_SDP);
}

/* g's first words (time, host_process reference), or NULL. */
static uint32_t *gfirst(const group *g)
{
    size_t kl = key_len(KEY(g));
    if (kind_of(NULL, g) == K_SDP && !KEY(g)[kl])
        return NULL;
    return (uint32_t *)(g + 1) + (kl + 3) / 4;
}

/* Words of g's record: the step to the next record in the arena. */
static inline uint32_t rec_words(const group *g)
{
    size_t kl = key_len(KEY(g));
    int kind = kind_of(NULL, g);
    return (uint32_t)rec_words_of(kind, kl, kind != K_SDP || KEY(g)[kl]);
}

/* The aux index word of a host_process or src_domain record. */
static uint32_t *aux_idx(const group *g)
{
    return (uint32_t *)(g + 1) + (key_len(KEY(g)) + 3) / 4 + 2;
}

/* The first words of the src_dst_port group `local` of shard s kept
 * aside (see shard.sdx); created (time UINT32_MAX, no process) when
 * `make`, else NULL when there are none. NULL also on ENOMEM (*err). */
static uint32_t *sdx_get(shard *s, uint32_t local, int make, int *err)
{
    uint32_t key = local + 1;
    if (s->capsdx) {
        for (uint32_t h = (key * 2654435761u) & (s->capsdx - 1);; h = (h + 1) & (s->capsdx - 1)) {
            uint32_t *e = s->sdx + 3 * (size_t)h;
            if (e[0] == key)
                return e + 1;
            if (!e[0])
                break;
        }
    }
    if (!make)
        return NULL;
    if ((s->nsdx + 1) * 2 > s->capsdx) {
        uint32_t nc = s->capsdx ? s->capsdx * 2 : 64;
        uint32_t *nt = calloc((size_t)nc * 3, sizeof *nt);
        if (!nt) {
            *err = BW_ERR_NOMEM;
            return NULL;
        }
        for (uint32_t i = 0; i < s->capsdx; i++) {
            const uint32_t *e = s->sdx + 3 * (size_t)i;
            if (!e[0])
                continue;
            uint32_t h = (e[0] * 2654435761u) & (nc - 1);
            while (nt[3 * (size_t)h])
                h = (h + 1) & (nc - 1);
            memcpy(nt + 3 * (size_t)h, e, 3 * sizeof *e);
        }
        free(s->sdx);
        s->sdx = nt;
        s->capsdx = nc;
    }
    uint32_t h = (key * 2654435761u) & (s->capsdx - 1);
    while (s->sdx[3 * (size_t)h])
        h = (h + 1) & (s->capsdx - 1);
    uint32_t *e = s->sdx + 3 * (size_t)h;
    e[0] = key;
    e[1] = UINT32_MAX;
    e[2] = 0;
    s->nsdx++;
    return e + 1;
}

/* g's first words wherever they are (NULL: none yet, and not `make`). */
static uint32_t *first_words(shard *s, group *g, uint32_t local, int make, int *err)
{
    uint32_t *f = gfirst(g);
    return f ? f : sdx_get(s, local, make, err);
}

/* memcmp(a, b, n) == 0, inline for the commonest lengths (an IPv4-pair
 * key is 11 bytes): a call to memcmp was 2.5 % of a Zeek run. */
static int key_eq(const char *a, const char *b, size_t n)
{
    if (n < 8 || n > 16)
        return !memcmp(a, b, n);
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8);
    memcpy(&b0, b, 8);
    memcpy(&a1, a + n - 8, 8);
    memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

static int table_grow(const bwrule *r, shard *s)
{
    size_t ncap = s->tcap ? s->tcap * 2 : 256;
    uint32_t *t = calloc(ncap, sizeof *t);
    if (!t)
        return BW_ERR_NOMEM;
    /* every record is in the table: walk the arena in order (a stream)
     * rather than the slots (a cache miss per record) */
    for (uint32_t i = 0; i < s->wn; i += rec_words(GRP(s, i))) {
        const group *g = GRP(s, i);
        uint64_t hv = keyhash(r, KEY(g), key_len(KEY(g)));
        size_t h = hv & (ncap - 1);
        while (t[h])
            h = (h + 1) & (ncap - 1);
        t[h] = TAG(hv) | (i + 1);
    }
    free(s->table);
    s->table = t;
    s->tcap = ncap;
    return 0;
}

/* The group of key (hash hv, created when new) in shard s; NULL when a
 * group cap is hit (counted in *capped) or on ENOMEM (*err set). The table
 * holds 7 more bits of each key's hash next to the record's offset, so a
 * probe rarely touches a record in vain and a hit touches one. `ngroups`
 * is the count checked against max_groups (merge passes its own). The
 * returned pointer is valid until the next call on the same shard; *local
 * is the group's local id. */
static group *new_group(shard *s, size_t h, uint32_t tag, const char *key, size_t klen,
                        int first, size_t *ngroups, size_t max_groups,
                        unsigned long long *capped, uint32_t *local, int *err);

static inline __attribute__((always_inline)) group *
find_group(const bwrule *r, shard *s, uint64_t hv, const char *key, size_t klen, int first,
           size_t *ngroups, size_t max_groups, unsigned long long *capped, uint32_t *local,
           int *err)
{
    if ((s->n + 1) * 8 > s->tcap * 7 && table_grow(r, s)) {
        *err = BW_ERR_NOMEM;
        return NULL;
    }
    uint32_t tag = TAG(hv);
    size_t h = hv & (s->tcap - 1);
    for (; s->table[h]; h = (h + 1) & (s->tcap - 1)) {
        uint32_t e = s->table[h];
        if ((e & ~(LOCAL_MAX - 1)) != tag)
            continue;
        group *g = GRP(s, SLOT_LOCAL(e));
        if (KEY(g)[0] == key[0] && key_len(KEY(g)) == klen && key_eq(KEY(g), key, klen)) {
            *local = SLOT_LOCAL(e);
            return g;
        }
    }
    return new_group(s, h, tag, key, klen, first, ngroups, max_groups, capped, local, err);
}

/* find_group's new group of key at empty slot h. */
static __attribute__((noinline)) group *
new_group(shard *s, size_t h, uint32_t tag, const char *key, size_t klen, int first,
          size_t *ngroups, size_t max_groups, unsigned long long *capped, uint32_t *local,
          int *err)
{
    int kind = key_kind(key);
    first = first || kind != K_SDP;
    size_t words = rec_words_of(kind, klen, first);
    /* local id + 1 must fit in LOCAL_BITS */
    if (*ngroups >= max_groups || s->wn + words >= LOCAL_MAX - 1) {
        (*capped)++;
        return NULL;
    }
    if (s->wn + words > s->wcap) {
        size_t nc = s->wcap ? s->wcap + s->wcap / 2 : 1024;
        while (nc < s->wn + words)
            nc *= 2;
        uint32_t *nw = realloc(s->w, nc * sizeof *nw);
        if (!nw) {
            *err = BW_ERR_NOMEM;
            return NULL;
        }
        s->w = nw;
        s->wcap = nc;
    }
    group *g = GRP(s, s->wn);
    memset(g, 0, words * 4);
    memcpy(KEY(g), key, klen);
    if (kind == K_SDP && first)
        KEY(g)[klen] = 1; /* a src_dst_port key is 1 byte short of a word */
    if (first)
        gfirst(g)[0] = UINT32_MAX;
    if (kind != K_SDP)
        *aux_idx(g) = UINT32_MAX;
    *local = (uint32_t)s->wn;
    s->table[h] = tag | (uint32_t)(s->wn + 1);
    s->wn += words;
    s->n++;
    (*ngroups)++;
    return g;
}

/* Keys: 'A' + kind, then the parts. An address is its length (4 or 16)
 * and its bytes; a name its length (<= 255) and its bytes. */
static size_t put_ip(char *k, const bw_ip *ip)
{
    if (ip->family == 4) {
        k[0] = 4;
        memcpy(k + 1, ip->a + 12, 4);
        return 5;
    }
    k[0] = 16;
    memcpy(k + 1, ip->a, 16);
    return 17;
}

static size_t get_ip(const char *k, bw_ip *ip)
{
    memset(ip, 0, sizeof *ip);
    if (k[0] == 4) {
        ip->a[10] = ip->a[11] = 0xff;
        memcpy(ip->a + 12, k + 1, 4);
        ip->family = 4;
        return 5;
    }
    memcpy(ip->a, k + 1, 16);
    ip->family = 6;
    return 17;
}

/* A src_dst_port key: 'A' + K_SDP, both addresses (put_ip), the port
 * (big-endian); an IPv4 pair in short: 'a' + K_SDP, the two addresses'
 * 4 bytes each, the port (11 bytes, so that the record is 4 words). */
static inline size_t put_sdp(char *k, const bw_ip *src, const bw_ip *dst, uint16_t dport)
{
    size_t n = 0;
    if (src->family == 4 && dst->family == 4) {
        k[n++] = (char)('a' + K_SDP);
        memcpy(k + n, src->a + 12, 4);
        memcpy(k + n + 4, dst->a + 12, 4);
        n += 8;
    } else {
        k[n++] = (char)('A' + K_SDP);
        n += put_ip(k + n, src);
        n += put_ip(k + n, dst);
    }
    k[n++] = (char)(dport >> 8);
    k[n++] = (char)(dport & 0xff);
    return n;
}

/* k itself, or for a short src_dst_port key its long form in buf (at
 * least SDP4_LEN + 2 bytes), which every key parser below reads. */
static const char *key_long(const char *k, char *buf)
{
    if (k[0] != 'a' + K_SDP)
        return k;
    buf[0] = (char)('A' + K_SDP);
    buf[1] = 4;
    memcpy(buf + 2, k + 1, 4);
    buf[6] = 4;
    memcpy(buf + 7, k + 5, 6); /* destination and port */
    return buf;
}

static size_t put_name(char *k, bw_str s, int lower)
{
    size_t n = s.n > MAX_NAME ? MAX_NAME : s.n;
    k[0] = (char)n;
    for (size_t i = 0; i < n; i++)
        k[1 + i] = lower ? (char)tolower((unsigned char)s.p[i]) : s.p[i];
    return n + 1;
}

/* The key in the format of the first releases (addresses always 16 bytes),
 * which finding ids are computed from, so that ids stay stable. */
static size_t canon_key(const char *k, size_t kl, char *out)
{
    char lb[SDP4_LEN + 2];
    if (key_long(k, lb) == lb) {
        k = lb;
        kl = sizeof lb;
    }
    size_t o = 0, i = 1;
    int kind = k[0] - 'A';
    out[o++] = k[0];
    if (kind == K_HP) {
        memcpy(out + o, k + 1, kl - 1);
        return kl;
    }
    bw_ip ip;
    i += get_ip(k + i, &ip);
    memcpy(out + o, ip.a, 16);
    o += 16;
    if (kind == K_SDP) {
        i += get_ip(k + i, &ip);
        memcpy(out + o, ip.a, 16);
        o += 16;
    }
    memcpy(out + o, k + i, kl - i);
    return o + kl - i;
}

/* Source, destination and destination port of the group's first event. */
static bw_ip gsrc(const shard *s, const group *g)
{
    bw_ip ip;
    if (kind_of(s, g) == K_SDP) {
        char lb[SDP4_LEN + 2];
        get_ip(key_long(KEY(g), lb) + 1, &ip);
        return ip;
    }
    uint32_t a = *aux_idx(g);
    if (a == UINT32_MAX) {
        memset(&ip, 0, sizeof ip);
        return ip;
    }
    return s->aux[a].src;
}

static bw_ip gdst(const shard *s, const group *g)
{
    bw_ip ip;
    if (kind_of(s, g) == K_SDP) {
        char lb[SDP4_LEN + 2];
        const char *k = key_long(KEY(g), lb) + 1;
        get_ip(k + (k[0] == 4 ? 5 : 17), &ip);
        return ip;
    }
    uint32_t a = *aux_idx(g);
    if (a == UINT32_MAX) {
        memset(&ip, 0, sizeof ip);
        return ip;
    }
    return s->aux[a].dst;
}

static unsigned gport(const shard *s, const group *g)
{
    if (kind_of(s, g) == K_SDP) {
        const unsigned char *k = (const unsigned char *)KEY(g);
        size_t kl = key_len(KEY(g));
        return (unsigned)k[kl - 2] << 8 | k[kl - 1];
    }
    uint32_t a = *aux_idx(g);
    return a == UINT32_MAX ? 0xffff : s->aux[a].dport;
}

/* Records the first event's addresses and port of a group (not
 * src_dst_port, whose key holds them). */
static int set_ips(shard *s, group *g, const bw_ip *src, const bw_ip *dst, uint16_t dport)
{
    if (kind_of(s, g) == K_SDP)
        return 0;
    uint32_t *a = aux_idx(g);
    if (*a == UINT32_MAX) {
        if (s->naux == s->capaux) {
            size_t nc = s->capaux ? s->capaux * 2 : 64;
            gaux *na = realloc(s->aux, nc * sizeof *na);
            if (!na)
                return BW_ERR_NOMEM;
            s->aux = na;
            s->capaux = (uint32_t)nc;
        }
        *a = s->naux++;
    }
    s->aux[*a].src = *src;
    s->aux[*a].dst = *dst;
    s->aux[*a].dport = dport;
    return 0;
}

static evblock *block_new(uint32_t cap, int64_t base)
{
    evblock *b = malloc(sizeof *b + cap * sizeof(uint64_t));
    if (b) {
        b->next = NULL;
        b->base = base;
        b->n = 0;
        b->cap = cap;
    }
    return b;
}

static int log_put_slow(shard *s, evlog *l, int64_t ticks, uint64_t low,
                        unsigned long long *ooo);

/* Appends an event (ticks, and low = EV_LOW(...)) to log l of shard s;
 * counts it in *ooo when it goes to the wide log. The commonest case, an
 * event that fits the current block, inline; a new block or the wide log
 * in log_put_slow. */
static inline int log_put(shard *s, evlog *l, int64_t ticks, uint64_t low,
                          unsigned long long *ooo)
{
    evblock *b = l->tail;
    if (b && ticks >= b->base && ticks - b->base < DT_RANGE && b->n < b->cap) {
        b->e[b->n++] = low | (uint64_t)(ticks - b->base) << EV_DT_SHIFT;
        s->nev++;
        return 0;
    }
    return log_put_slow(s, l, ticks, low, ooo);
}

static __attribute__((noinline)) int log_put_slow(shard *s, evlog *l, int64_t ticks,
                                                  uint64_t low, unsigned long long *ooo)
{
    evblock *b = l->tail;
    if (b && ticks < b->base) { /* out of order: the wide log */
        evblock *w = l->wtail;
        if (!w || w->n + 2 > w->cap) {
            evblock *nw = block_new(w ? BLOCK_MAX : BLOCK_MIN, 0);
            if (!nw)
                return BW_ERR_NOMEM;
            if (w)
                w->next = nw;
            else
                l->whead = nw;
            l->wtail = w = nw;
        }
        w->e[w->n++] = (uint64_t)ticks;
        w->e[w->n++] = low;
        s->nev++;
        (*ooo)++;
        return 0;
    }
    uint32_t cap = BLOCK_MIN;
    if (b && b->n == b->cap) {
        cap = b->cap * 2 > BLOCK_MAX ? BLOCK_MAX : b->cap * 2;
    } else if (b) { /* time has moved past b: give back its free end */
        while (cap < b->n && cap < BLOCK_MAX)
            cap *= 2;
        evblock *sb = realloc(b, sizeof *b + b->n * sizeof(uint64_t));
        if (sb) {
            sb->cap = sb->n;
            *l->tail_link = l->tail = b = sb;
        }
    }
    evblock *nb = block_new(cap, ticks - DT_SLACK);
    if (!nb)
        return BW_ERR_NOMEM;
    nb->e[nb->n++] = low | (uint64_t)DT_SLACK << EV_DT_SHIFT;
    s->nev++;
    l->tail_link = b ? &b->next : &l->head;
    *l->tail_link = l->tail = nb;
    return 0;
}

/* The group's first event is its earliest (ties: the smaller destination),
 * whichever instance or flush brought it, so that the addresses, port and
 * process kept for it do not depend on how the input was split. For a
 * src_dst_port group (whose key holds the addresses and port) only the
 * process is kept, that of its earliest event that has one: the group
 * has first words only once such an event comes. */
static int take_first(shard *s, group *g, uint32_t local, int64_t off,
                      const struct pend_rec *pr, const struct pend_ips *ip, uint32_t hp)
{
    int sdp = kind_of(s, g) == K_SDP, err = 0;
    if (sdp && !pr->hasproc)
        return 0;
    uint32_t *f = first_words(s, g, local, 1, &err);
    if (!f)
        return err;
    uint32_t o = off < 0 ? 0 : off >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)off;
    if (f[0] != UINT32_MAX) {
        if (o > f[0])
            return 0;
        if (o == f[0]) {
            if (sdp)
                return 0;
            bw_ip gd = gdst(s, g);
            if (memcmp(ip->dst.a, gd.a, 16) >= 0)
                return 0;
        }
    }
    err = set_ips(s, g, &ip->src, &ip->dst, pr->dport);
    f[0] = o;
    f[1] = hp;
    return err;
}

/* Prefetches what looking up op po in shard s will load: its table slot
 * (record 0) or, once the slot has arrived, the record its tag points at
 * (record 1; both its cache lines when it straddles two: records are
 * word-aligned). flush() does each for all of a shard's ops in turn before
 * the lookups, so that their cache misses overlap (a few dozen at a time,
 * where a rolling distance of 8 / 4 ops left the first of every shard
 * waiting: 1-2 % of a Zeek run). */
static void lookup_prefetch(const shard *s, const struct pend_op *po, int record)
{
    if (!s->tcap)
        return;
    size_t h = po->hv & (s->tcap - 1);
    if (!record) {
        __builtin_prefetch(&s->table[h]);
        return;
    }
    uint32_t tag = TAG(po->hv);
    for (; s->table[h]; h = (h + 1) & (s->tcap - 1)) {
        if ((s->table[h] & ~(LOCAL_MAX - 1)) == tag) {
            const char *g = (const char *)GRP(s, SLOT_LOCAL(s->table[h]));
            __builtin_prefetch(g);
            __builtin_prefetch(g + 15);
            return;
        }
    }
}

/* What flush() shares with its per-op steps. */
typedef struct flush_ctx {
    int64_t epoch;
    int ordered;           /* near a cap: one op at a time, each reserving */
    size_t created;        /* groups created */
    unsigned long long ev; /* events kept */
} flush_ctx;

/* Finds (or, within the group cap, creates) op po's group in shard si. In
 * a fast flush the cap was reserved for every op up front; an ordered one
 * reserves a group per op from the shared count, and gives it back when
 * the op's group existed, so that instances adding at once never pass the
 * cap together. */
static inline __attribute__((always_inline)) group *
flush_find(bwrule *r, int si, const struct pend_op *po, flush_ctx *fc, uint32_t *local, int *err)
{
    shard *s = &r->sh[si];
    int first = r->prec[po->rec].hasproc; /* src_dst_port: first words from the start */
    if (!fc->ordered)
        return find_group(r, s, po->hv, r->pkeys + po->koff, po->klen, first, &fc->created,
                          SIZE_MAX, &r->c.cap_groups, local, err);
    int ok = atomic_fetch_add(&r->co->ngroups, 1) < r->max_groups;
    size_t one = ok ? 0 : 1; /* find_group creates only while one < 1 */
    group *g = find_group(r, s, po->hv, r->pkeys + po->koff, po->klen, first, &one, 1,
                          &r->c.cap_groups, local, err);
    if (ok && one == 1)
        fc->created++;
    else /* nothing created: give the reservation back */
        atomic_fetch_sub(&r->co->ngroups, 1);
    return g;
}

/* One queued op of shard si (locked by the caller). step 0: a host_process
 * op's group only (found or created, first event); step 1: the op's event
 * (a host_process op's group found in step 0); step 2: both. */
static inline __attribute__((always_inline)) int
flush_op(bwrule *r, int si, struct pend_op *po, int step, flush_ctx *fc)
{
    shard *s = &r->sh[si];
    struct pend_rec *pr = &r->prec[po->rec];
    uint32_t local;
    group *g;
    int err = 0;
    if (po->kind == K_HP && step != 1) {
        g = flush_find(r, si, po, fc, &local, &err);
        po->local = g ? local : UINT32_MAX;
        if (!g)
            return err;
        pr->hp = REF(si, local) + 1;
        if ((err = take_first(s, g, local, pr->ticks - fc->epoch, pr, &r->pips[po->rec], 0)) ||
            step == 0)
            return err;
    } else if (step == 0) {
        return 0;
    } else if (po->kind == K_HP) {
        if (po->local == UINT32_MAX)
            return 0; /* counted at the group cap */
        local = po->local;
        g = GRP(s, local);
    } else {
        g = flush_find(r, si, po, fc, &local, &err);
        if (!g)
            return err;
        /* (take_first has nothing to do for a src_dst_port event without
         * a process: the commonest, so not even the call) */
        if ((po->kind != K_SDP || pr->hasproc) &&
            (err = take_first(s, g, local, pr->ticks - fc->epoch, pr, &r->pips[po->rec], pr->hp)))
            return err;
    }
    if (g->n >= r->max_events_group ||
        (fc->ordered && atomic_fetch_add(&r->co->events, 1) >= r->max_events)) {
        if (fc->ordered && g->n < r->max_events_group)
            atomic_fetch_sub(&r->co->events, 1);
        r->c.cap_events++;
        return 0;
    }
    if ((err = log_put(s, &s->log[r->origin], pr->ticks, EV_LOW(local, pr->sb, pr->db),
                       &r->c.out_of_order))) {
        if (fc->ordered)
            atomic_fetch_sub(&r->co->events, 1);
        return err;
    }
    g->n++;
    fc->ev++;
    return 0;
}

/* Looks up the groups of the queued records and appends their events, one
 * shard at a time under its lock (in an order of this instance's own, a
 * busy shard left for after the others), with the shard's lookups'
 * memory prefetched (lookup_prefetch, and the op's record and key in the
 * queue; the ops are copied into shard order first, so that the passes
 * over a shard's ops read them in a stream): first the host_process
 * groups (a record's other groups keep a reference to it), then every
 * event in record order, so that each log
 * stays in its input's order. Each op can add at most one group and one
 * event, so a flush first reserves as many of both from the shared counts;
 * when a cap might be reached, the ops run in record order instead, one
 * lock and one reservation each, so that the groups and events kept are
 * the first ones as they came (exactly so with one instance; instances
 * adding at once never pass a cap together, but one may be refused a
 * group another has reserved and then found existing). */
static int flush(bwrule *r)
{
    if (!r->npop) {
        r->nprec = 0;
        r->pkeys_n = 0;
        return 0;
    }
    core *co = r->co;
    int err = 0;
    flush_ctx fc;
    memset(&fc, 0, sizeof fc);
    fc.epoch = atomic_load_explicit(&co->epoch, memory_order_relaxed);
    size_t g0 = atomic_fetch_add(&co->ngroups, r->npop);
    unsigned long long e0 = atomic_fetch_add(&co->events, r->npop);
    if (g0 + r->npop > r->max_groups || e0 + r->npop > r->max_events) {
        atomic_fetch_sub(&co->ngroups, r->npop);
        atomic_fetch_sub(&co->events, r->npop);
        fc.ordered = 1;
        for (uint32_t i = 0; i < r->npop && !err; i++) {
            int si = (int)(r->pop[i].hv >> (64 - SHARD_BITS));
            pthread_mutex_lock(&r->sh[si].mu);
            err = flush_op(r, si, &r->pop[i], 2, &fc);
            pthread_mutex_unlock(&r->sh[si].mu);
        }
        goto done;
    }
    uint32_t start[NSHARD + 1] = {0};
    for (uint32_t i = 0; i < r->npop; i++)
        start[(r->pop[i].hv >> (64 - SHARD_BITS)) + 1]++;
    for (int si = 0; si < NSHARD; si++)
        start[si + 1] += start[si];
    uint32_t fill[NSHARD];
    memcpy(fill, start, sizeof fill);
    for (uint32_t i = 0; i < r->npop; i++)
        r->psort[fill[r->pop[i].hv >> (64 - SHARD_BITS)]++] = r->pop[i];
    for (int step = r->nhp ? 0 : 1; step < 2 && !err; step++) {
        int later[NSHARD], nlater = 0;
        for (int ki = 0; ki < NSHARD + nlater && !err; ki++) {
            int si = ki < NSHARD ? (ki + r->origin * (NSHARD / 4 + 1)) % NSHARD
                                 : later[ki - NSHARD];
            uint32_t b = start[si], e = start[si + 1];
            if (b == e)
                continue;
            shard *s = &r->sh[si];
            if (ki < NSHARD) {
                if (pthread_mutex_trylock(&s->mu) != 0) {
                    later[nlater++] = si;
                    continue;
                }
            } else {
                pthread_mutex_lock(&s->mu);
            }
            for (uint32_t k = b; k < e; k++) {
                lookup_prefetch(s, &r->psort[k], 0);
                __builtin_prefetch(&r->prec[r->psort[k].rec]);
                __builtin_prefetch(r->pkeys + r->psort[k].koff);
            }
            for (uint32_t k = b; k < e; k++)
                lookup_prefetch(s, &r->psort[k], 1);
            for (uint32_t k = b; k < e && !err; k++)
                err = flush_op(r, si, &r->psort[k], step, &fc);
            pthread_mutex_unlock(&s->mu);
        }
    }
    /* give back what this flush reserved and did not use */
    atomic_fetch_sub(&co->ngroups, r->npop - fc.created);
    atomic_fetch_sub(&co->events, r->npop - fc.ev);
done:
    r->c.events += fc.ev;
    r->nprec = r->npop = r->nhp = 0;
    r->pkeys_n = 0;
    return err;
}

/* Microseconds -> ticks, rounded down. */
static int64_t ticks_of(int64_t us)
{
    return us >= 0 ? us / TICK_US : -((-us + TICK_US - 1) / TICK_US);
}

/* Queues the lookup of the key of kind just written at pkeys + pkeys_n
 * (n bytes) for record rec (the next queued one). The short key of an
 * IPv4 pair is hashed from the addresses' values (sdp4_hash), not read
 * back from the bytes just written. */
static inline void queue_op(bwrule *r, const bw_record *rec, int kind, size_t n,
                            uint16_t dport)
{
    const char *key = r->pkeys + r->pkeys_n;
    struct pend_op *po = &r->pop[r->npop++];
    if (key[0] == 'a' + K_SDP) {
        uint32_t s4, d4;
        memcpy(&s4, rec->src_ip.a + 12, 4);
        memcpy(&d4, rec->dst_ip.a + 12, 4);
        po->hv = sdp4_hash(r, s4, d4, dport);
    } else {
        po->hv = keyhash(r, key, n);
    }
    po->koff = (uint32_t)r->pkeys_n;
    po->klen = (uint16_t)n;
    po->kind = (uint8_t)kind;
    po->rec = r->nprec;
    r->nhp += kind == K_HP;
    r->pkeys_n += n;
}

static int add(void *st, const bw_record *rec)
{
    bwrule *r = st;
    r->added = 1;
    r->c.offered++;
    if (rec->ts_us == BW_UNSET) {
        r->c.no_time++;
        return 0;
    }
    if (!rec->src_ip.family || !rec->dst_ip.family) {
        r->c.no_addr++;
        return 0;
    }
    if (!r->keep_internal && bw_cidr_list_contains(r->internal, &rec->dst_ip)) {
        r->c.internal_dst++;
        return 0;
    }
    r->c.kept++;
    if (rec->ts_us < r->min_us)
        r->min_us = rec->ts_us;
    if (rec->ts_us > r->max_us)
        r->max_us = rec->ts_us;
    int64_t ticks = ticks_of(rec->ts_us);
    int64_t ep = atomic_load_explicit(&r->co->epoch, memory_order_relaxed);
    if (ep == INT64_MIN)
        atomic_compare_exchange_strong(&r->co->epoch, &ep, ticks - HALF_RANGE);
    if (!r->prec) {
        r->prec = malloc(PEND_RECS * sizeof *r->prec);
        r->pips = malloc(PEND_RECS * sizeof *r->pips);
        r->pop = malloc(PEND_RECS * 3 * sizeof *r->pop);
        r->psort = malloc(PEND_RECS * 3 * sizeof *r->psort);
        r->pkeys = malloc(PEND_KEYS);
        if (!r->prec || !r->pips || !r->pop || !r->psort || !r->pkeys) {
            pend_free(r);
            return BW_ERR_NOMEM;
        }
    }
    uint16_t sb = bytes_code(rec->src_bytes), db = bytes_code(rec->dst_bytes);
    uint16_t dport = rec->dst_port >= 0 && rec->dst_port <= 65535 ? (uint16_t)rec->dst_port
                                                                     : 0xffff;
    struct pend_rec *pr = &r->prec[r->nprec];
    pr->ticks = ticks;
    pr->hp = 0;
    pr->hasproc = rec->host_name.n && rec->process_name.n &&
                  (r->groupings & (1 << K_HP));
    pr->sb = sb;
    pr->db = db;
    pr->dport = dport;
    /* the addresses are read only by take_first for a host_process or
     * src_domain group, or a src_dst_port one from a record with a
     * process: not copied for the commonest record */
    int named = pr->hasproc || (rec->dst_domain.n && (r->groupings & (1 << K_SD)));
    if (named) {
        r->pips[r->nprec].src = rec->src_ip;
        r->pips[r->nprec].dst = rec->dst_ip;
    }
    if (!named && (r->groupings & (1 << K_SDP))) {
        /* the commonest record (no process, no domain: a Zeek or firewall
         * log): its one key without the loop below */
        size_t n = put_sdp(r->pkeys + r->pkeys_n, &rec->src_ip, &rec->dst_ip, dport);
        queue_op(r, rec, K_SDP, n, dport);
    } else {
        static const int order[3] = {K_HP, K_SDP, K_SD}; /* the stored groupings */
        for (int oi = 0; oi < 3; oi++) {
            int kind = order[oi];
            if (!(r->groupings & (1 << kind)))
                continue;
            char *key = r->pkeys + r->pkeys_n;
            size_t n = 1;
            key[0] = (char)('A' + kind);
            if (kind == K_SDP) { /* its own first byte: short or long form */
                n = put_sdp(key, &rec->src_ip, &rec->dst_ip, dport);
            } else if (kind == K_HP) {
                if (!rec->host_name.n || !rec->process_name.n)
                    continue;
                n += put_name(key + n, rec->host_name, 0);
                n += put_name(key + n, rec->process_name, 0);
            } else {
                if (!rec->dst_domain.n)
                    continue;
                n += put_ip(key + n, &rec->src_ip);
                n += put_name(key + n, rec->dst_domain, 1);
            }
            queue_op(r, rec, kind, n, dport);
        }
    }
    if (++r->nprec == PEND_RECS || r->pkeys_n + 3 * MAX_KEY > PEND_KEYS)
        return flush(r);
    return 0;
}

/* ------------------------------------------------------------ merge */

/* Merging one shard of `from` into the same shard of `into` (the same key
 * hashes to the same shard in every clone, which share the hash seed).
 * Shards are independent, so two threads take them in turn. */
/* from's local id -> into's (UINT32_MAX: dropped at the cap), kept for the
 * host_process groups only, in from's order, until every shard is merged */
typedef struct lmap {
    uint32_t from, into;
} lmap;

typedef struct merge_job {
    bwrule *into, *from;
    lmap *hpmap[NSHARD];
    uint32_t nhpmap[NSHARD];
    unsigned long long cap_groups, cap_events, events;
    size_t group_budget; /* max_groups - into's groups before the merge */
    _Atomic int next;
    int err;
    pthread_mutex_t mu;
} merge_job;

static uint32_t hpmap_find(const merge_job *j, uint32_t ref)
{
    const lmap *m = j->hpmap[REF_SHARD(ref)];
    size_t lo = 0, hi = j->nhpmap[REF_SHARD(ref)];
    uint32_t want = REF_LOCAL(ref);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m[mid].from < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < j->nhpmap[REF_SHARD(ref)] && m[lo].from == want ? m[lo].into : UINT32_MAX;
}

static int merge_shard(merge_job *j, int si, unsigned long long *cg, unsigned long long *ce,
                       unsigned long long *evn, size_t *budget)
{
    bwrule *into = j->into, *from = j->from;
    shard *s = &into->sh[si], *fs = &from->sh[si];
    int err = 0;
    int64_t fe = atomic_load(&from->co->epoch), ie = atomic_load(&into->co->epoch);
    int64_t delta = fe == INT64_MIN ? 0 : fe - ie;
    /* from's local id (a word offset) -> into's; set at record starts */
    uint32_t *map = malloc((fs->wn + 1) * sizeof *map);
    size_t caphp = 0;
    if (!map)
        return BW_ERR_NOMEM;
    for (uint32_t o = 0, step; o < fs->wn; o += step) {
        group *fg = GRP(fs, o);
        size_t kl = key_len(KEY(fg));
        step = rec_words(fg);
        uint64_t hv = keyhash(into, KEY(fg), kl);
        size_t mine = 0;
        uint32_t gl = UINT32_MAX;
        const uint32_t *ff = first_words(fs, fg, o, 0, &err);
        group *g = find_group(into, s, hv, KEY(fg), kl, ff != NULL, &mine, *budget, cg, &gl,
                              &err);
        if (err)
            goto out;
        map[o] = g ? gl : UINT32_MAX;
        if (kind_of(fs, fg) == K_HP) {
            if (j->nhpmap[si] == caphp) {
                size_t nc = caphp ? caphp * 2 : 64;
                lmap *nm = realloc(j->hpmap[si], nc * sizeof *nm);
                if (!nm) {
                    err = BW_ERR_NOMEM;
                    goto out;
                }
                j->hpmap[si] = nm;
                caphp = nc;
            }
            j->hpmap[si][j->nhpmap[si]++] = (lmap){o, map[o]};
        }
        if (!g)
            continue;
        *budget -= mine;
        if (!ff || ff[0] == UINT32_MAX)
            continue;
        /* the group's first event is the earlier of both (ties: the smaller
         * destination), so the result does not depend on the split */
        uint32_t *gf = first_words(s, g, gl, 1, &err);
        if (!gf)
            goto out;
        int64_t ft = (int64_t)ff[0] + delta;
        int take = gf[0] == UINT32_MAX;
        if (!take) {
            bw_ip fd = gdst(fs, fg), gd = gdst(s, g);
            take = ft < (int64_t)gf[0] ||
                   (ft == (int64_t)gf[0] && memcmp(fd.a, gd.a, 16) < 0);
        }
        if (take) {
            bw_ip fsrc = gsrc(fs, fg), fdst = gdst(fs, fg);
            if ((err = set_ips(s, g, &fsrc, &fdst, (uint16_t)gport(fs, fg))))
                goto out;
            gf[0] = ft < 0 ? 0 : ft >= (int64_t)UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)ft;
            /* from's reference; translated once every shard is merged */
            gf[1] = ff[1] ? (ff[1] | 0x80000000u) : 0;
        }
    }
    /* the events: renumbered and appended block by block (their times are
     * absolute: block bases are ticks, not offsets from an epoch), each
     * origin's to the same origin's log */
    for (int o = 0; o < MAX_ORIGIN; o++) {
        evlog *l = &s->log[o], *fl = &fs->log[o];
        for (int wide = 0; wide < 2; wide++) {
            uint32_t step = wide ? 2 : 1;
            for (evblock *b = wide ? fl->whead : fl->head; b; b = b->next) {
                uint32_t w = 0;
                for (uint32_t k = 0; k < b->n; k += step) {
                    uint64_t e = b->e[k + step - 1];
                    uint32_t gi = map[EV_GID(e)];
                    if (gi == UINT32_MAX || GRP(s, gi)->n >= into->max_events_group) {
                        (*ce)++;
                        continue;
                    }
                    GRP(s, gi)->n++;
                    if (wide)
                        b->e[w++] = b->e[k];
                    b->e[w++] =
                        (e & ((1ULL << EV_GID_SHIFT) - 1)) | (uint64_t)gi << EV_GID_SHIFT;
                }
                b->n = w;
                (*evn) += w / step;
                s->nev += w / step;
            }
        }
        if (fl->head) {
            *(l->tail ? &l->tail->next : &l->head) = fl->head;
            l->tail_link = fl->tail_link == &fl->head ? (l->tail ? &l->tail->next : &l->head)
                                                       : fl->tail_link;
            l->tail = fl->tail;
            fl->head = fl->tail = NULL;
        }
        if (fl->whead) {
            *(l->wtail ? &l->wtail->next : &l->whead) = fl->whead;
            l->wtail = fl->wtail;
            fl->whead = fl->wtail = NULL;
        }
    }
    /* from's shard is no longer needed: give its memory back now, so that
     * the peak is not both instances at once */
    shard_clear(fs);
out:
    free(map);
    return err;
}

static void *merge_worker(void *arg)
{
    merge_job *j = arg;
    unsigned long long cg = 0, ce = 0, evn = 0;
    for (;;) {
        int si = atomic_fetch_add(&j->next, 1);
        if (si >= NSHARD)
            break;
        /* the group cap is shared: each shard takes its groups from the
         * common budget under the lock (see merge() for when this is exact) */
        pthread_mutex_lock(&j->mu);
        size_t budget = j->group_budget;
        pthread_mutex_unlock(&j->mu);
        size_t before = budget;
        int err = merge_shard(j, si, &cg, &ce, &evn, &budget);
        pthread_mutex_lock(&j->mu);
        j->group_budget -= before - budget > j->group_budget ? j->group_budget
                                                             : before - budget;
        if (err && !j->err)
            j->err = err;
        pthread_mutex_unlock(&j->mu);
        if (err)
            break;
    }
    pthread_mutex_lock(&j->mu);
    j->cap_groups += cg;
    j->cap_events += ce;
    j->events += evn;
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Counters of the work done in `from` (its events are counted where
 * they are kept). */
static void fold_counters(bwrule *into, const bwrule *from)
{
    into->c.offered += from->c.offered;
    into->c.kept += from->c.kept;
    into->c.no_addr += from->c.no_addr;
    into->c.no_time += from->c.no_time;
    into->c.internal_dst += from->c.internal_dst;
    into->c.cap_groups += from->c.cap_groups;
    into->c.cap_events += from->c.cap_events;
    into->c.out_of_order += from->c.out_of_order;
    if (into->co == from->co)
        into->c.events += from->c.events;
    if (from->min_us < into->min_us)
        into->min_us = from->min_us;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
    into->added |= from->added;
}

static int merge(void *into_, void *from_, bw_errbuf *eb)
{
    bwrule *into = into_, *from = from_;
    int err = 0;
    if ((err = flush(into)) || (err = flush(from)))
        return bw_errf(eb, err, "beaconwatch: out of memory");
    if (into->co == from->co) { /* clone_shared: the groups are there already */
        pend_free(from);
        fold_counters(into, from);
        memset(&from->c, 0, sizeof from->c);
        from->min_us = INT64_MAX;
        from->max_us = INT64_MIN;
        return 0;
    }
    merge_job *j = calloc(1, sizeof *j);
    if (!j)
        return bw_errf(eb, BW_ERR_NOMEM, "beaconwatch: out of memory");
    int64_t ie = INT64_MIN, fe = atomic_load(&from->co->epoch);
    if (fe != INT64_MIN)
        atomic_compare_exchange_strong(&into->co->epoch, &ie, fe);
    size_t ing = atomic_load(&into->co->ngroups), fng = atomic_load(&from->co->ngroups);
    j->into = into;
    j->from = from;
    j->group_budget = into->max_groups > ing ? into->max_groups - ing : 0;
    atomic_init(&j->next, 0);
    pthread_mutex_init(&j->mu, NULL);
    /* each shard checks the group cap against the budget left before it:
     * exact on one thread, so two threads only when neither the group nor
     * the event cap can be reached by this merge */
    int threads = atomic_load(&into->co->events) + atomic_load(&from->co->events) >
                                  into->max_events ||
                          ing + fng > into->max_groups
                      ? 1
                      : 2;
    pthread_t th;
    int started = threads == 2 && pthread_create(&th, NULL, merge_worker, j) == 0;
    merge_worker(j);
    if (started)
        pthread_join(th, NULL);
    pthread_mutex_destroy(&j->mu);
    if ((err = j->err)) {
        err = bw_errf(eb, err, "beaconwatch: out of memory");
        goto out;
    }
    /* (host, process) references of groups whose first event came from
     * `from`: translate them to `into`'s groups */
    for (int si = 0; si < NSHARD; si++) {
        shard *s = &into->sh[si];
        for (uint32_t o = 0; o < s->wn; o += rec_words(GRP(s, o))) {
            uint32_t *f = first_words(s, GRP(s, o), o, 0, &err);
            if (!f || !(f[1] & 0x80000000u))
                continue;
            uint32_t ref = (f[1] & 0x7fffffffu) - 1;
            uint32_t loc = hpmap_find(j, ref);
            f[1] = loc == UINT32_MAX ? 0 : REF(REF_SHARD(ref), loc) + 1;
        }
    }
    size_t ng = 0;
    for (int si = 0; si < NSHARD; si++)
        ng += into->sh[si].n;
    atomic_store(&into->co->ngroups, ng);
    atomic_fetch_add(&into->co->events, j->events);
    into->c.events += j->events;
    into->c.cap_groups += j->cap_groups;
    into->c.cap_events += j->cap_events;
    fold_counters(into, from);
out:
    for (int si = 0; si < NSHARD; si++)
        free(j->hpmap[si]);
    free(j);
    core_clear(from->co);
    memset(&from->c, 0, sizeof from->c);
    from->min_us = INT64_MAX;
    from->max_us = INT64_MIN;
    return err;
}

/* ------------------------------------------------------------ finish */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_cat(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_printf(sbuf *b, const char *fmt, ...);

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char t[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
}

/* A JSON string: control characters escaped, bytes >= 0x80 that are not
 * valid UTF-8 replaced by U+FFFD. */
static void sb_str(sbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    sb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            sb_put(b, t, 2);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else if (c < 0x80) {
            sb_put(b, s + i, 1);
        } else {
            size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                         : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            size_t k = 1;
            while (len && k < len && i + k < n && (u[i + k] & 0xc0) == 0x80)
                k++;
            if (len && k == len) {
                sb_put(b, s + i, len);
                i += len - 1;
            } else {
                sb_cat(b, "\\ufffd");
            }
        }
    }
    sb_put(b, "\"", 1);
}

static void sb_num(sbuf *b, double v)
{
    char t[BW_G6_LEN];
    if (!isfinite(v))
        sb_cat(b, "null");
    else
        sb_put(b, t, bw_fmt_g6(v, t));
}

typedef struct result {
    uint32_t ref;  /* REF() of the group; dst_port: of its most significant source */
    uint32_t nmem; /* dst_port: sources taking part (their refs at mem0 in the
                      member list); 0 for the other groupings */
    size_t mem0;
    bw_period_est est;
    double smed, dmed, sreg, dreg; /* median bytes each way, share near it */
    double coverage, score;
    uint32_t sources;
    const char *benign;
    double q;
    const char *key; /* the group's key, for a stable order on equal scores */
    size_t keylen;
} result;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median of the known values among v (n), and the share of them within
 * max(5 %, 8 B) of it; -1 and 0 when none is known. */
static void byte_stats(double *v, size_t n, double *med, double *reg)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] >= 0)
            v[m++] = v[i];
    if (!m) {
        *med = -1;
        *reg = 0;
        return;
    }
    bw_select(v, m, m / 2);
    double md = v[m / 2];
    double tol = md * 0.05 > 8 ? md * 0.05 : 8;
    size_t near = 0;
    for (size_t i = 0; i < m; i++)
        if (fabs(v[i] - md) <= tol)
            near++;
    *med = md;
    *reg = (double)near / (double)m;
}

static const char *benign_match(const bwrule *r, shard *s, uint32_t local)
{
    const group *g = GRP(s, local);
    int ferr = 0;
    const uint32_t *fw = first_words(s, (group *)g, local, 0, &ferr);
    uint32_t hp = fw ? fw[1] : 0;
    bw_ip dst = gdst(s, g);
    const char *proc = NULL, *dom = NULL;
    size_t pl = 0, dl = 0;
    const char *k = KEY(g) + 1;
    int kind = kind_of(s, g);
    if (hp) { /* the process of the group's first session */
        const shard *hs = &r->sh[REF_SHARD(hp - 1)];
        const group *h = GRP(hs, REF_LOCAL(hp - 1));
        const char *hk = KEY(h) + 1;
        size_t hl = (unsigned char)hk[0];
        pl = (unsigned char)hk[1 + hl];
        proc = hk + 2 + hl;
    }
    if (kind == K_HP) {
        size_t hl = (unsigned char)k[0];
        pl = (unsigned char)k[1 + hl];
        proc = k + 2 + hl;
    } else if (kind == K_SD) {
        size_t il = k[0] == 4 ? 5 : 17;
        dl = (unsigned char)k[il];
        dom = k + il + 1;
    }
    for (size_t i = 0; i < r->benign.n; i++) {
        const fingerprint *f = &r->benign.f[i];
        int ok = 1;
        for (int c = 0; c < f->nc && ok; c++) {
            const fp_cond *fc = &f->c[c];
            switch (fc->field) {
            case F_PROCESS:
                ok = proc && glob_match(fc->pat, proc, pl);
                break;
            case F_DOMAIN:
                ok = dom && glob_match(fc->pat, dom, dl);
                break;
            case F_DPORT:
                ok = gport(s, g) == (unsigned)fc->port;
                break;
            default:
                ok = bw_cidr_contains(&fc->cidr, &dst);
                break;
            }
        }
        if (ok)
            return f->label;
    }
    return NULL;
}

/* "4,000" */
static void fmt_thousands(char *buf, size_t cap, unsigned long long v)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%llu", v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = t[i];
    }
    buf[o] = '\0';
}

static void fmt_bytes(char *buf, size_t cap, double med, double reg)
{
    if (med < 0)
        snprintf(buf, cap, "?");
    else
        snprintf(buf, cap, "%.0f B%s", med, reg >= 0.8 ? "" : "~");
}

static void fmt_secs(char *buf, size_t cap, double s)
{
    if (s >= 100)
        snprintf(buf, cap, "%.0f s", s);
    else
        snprintf(buf, cap, "%.1f s", s);
}

static const char *const columns[] = {"source", "destination", "score", "period_s", "jitter",
                                      "beats_pct", "explanation"};

/* The group's two sides as text: source (address or host) and destination
 * (address:port, process or domain). */
static void group_text(const shard *s, const group *g, char *src, size_t sc, char *dst,
                       size_t dc)
{
    const char *k = KEY(g) + 1;
    bw_ip gs = gsrc(s, g), gd = gdst(s, g);
    char a[BW_IP_STRLEN];
    int kind = kind_of(s, g);
    if (kind == K_HP) {
        size_t hl = (unsigned char)k[0];
        size_t pl = (unsigned char)k[1 + hl];
        snprintf(src, sc, "%.*s", (int)hl, k + 1);
        snprintf(dst, dc, "%.*s", (int)pl, k + 2 + hl);
        return;
    }
    bw_ip_format(&gs, a);
    snprintf(src, sc, "%s", a);
    if (kind == K_SD) {
        size_t il = k[0] == 4 ? 5 : 17;
        snprintf(dst, dc, "%.*s", (int)(unsigned char)k[il], k + il + 1);
    } else {
        bw_ip_format(&gd, a);
        unsigned port = gport(s, g);
        if (port == 0xffff)
            snprintf(dst, dc, "%s", a);
        else if (gd.family == 6)
            snprintf(dst, dc, "[%s]:%u", a, port);
        else
            snprintf(dst, dc, "%s:%u", a, port);
    }
}

static int cmp_result(const void *a, const void *b)
{
    const result *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    /* by the long form of the keys: an IPv4 pair before the same source
     * with an IPv6 destination, as before the short form */
    char lx[SDP4_LEN + 2], ly[SDP4_LEN + 2];
    const char *kx = key_long(x->key, lx), *ky = key_long(y->key, ly);
    size_t nx = kx == lx ? sizeof lx : x->keylen, ny = ky == ly ? sizeof ly : y->keylen;
    size_t m = nx < ny ? nx : ny;
    int c = memcmp(kx, ky, m);
    if (c)
        return c;
    if (nx != ny)
        return nx < ny ? -1 : 1;
    /* a dst_port result carries its best member's key: after it */
    return (x->nmem > 0) - (y->nmem > 0);
}

static void dp_sources_text(const bwrule *r, const result *res, const uint32_t *dpm,
                            char *buf, size_t cap);

static int report(bwrule *r, const result *res, const uint32_t *dpm, int64_t w0,
                  int64_t win_end, uint32_t total_src, sbuf *doc, sbuf *exp,
                  bw_finding_fn fn, void *ctx)
{
    const shard *s = &r->sh[REF_SHARD(res->ref)];
    const group *g = GRP(s, REF_LOCAL(res->ref));
    int kind = res->nmem ? K_DP : kind_of(s, g);
    const bw_period_est *e = &res->est;
    char src[300], dst[300], ts[BW_TIME_STRLEN], first[BW_TIME_STRLEN], last[BW_TIME_STRLEN];
    char t1[64], t2[64], id[65], ck[MAX_KEY + 32];
    group_text(s, g, src, sizeof src, dst, sizeof dst);
    bw_ip gs = gsrc(s, g), gd = gdst(s, g);
    if (kind == K_DP) /* "N sources: a, b, c, ..." */
        dp_sources_text(r, res, dpm, src, sizeof src);
    bw_time_format(win_end, ts);
    bw_time_format(w0 + (int64_t)(e->first_s * 1e6), first);
    bw_time_format(w0 + (int64_t)(e->last_s * 1e6), last);
    int alert = res->score >= r->threshold && res->q <= r->fdr;

    /* id: rule, group key, window end */
    struct sha256_ctx h;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&h);
    sha256_update(&h, 12, (const uint8_t *)"beaconwatch");
    size_t ckl = canon_key(KEY(g), key_len(KEY(g)), ck);
    if (kind == K_DP) { /* 'D', destination (16 bytes), port */
        memmove(ck + 1, ck + 17, ckl - 17);
        ck[0] = (char)('A' + K_DP);
        ckl -= 16;
    }
    sha256_update(&h, ckl, (const uint8_t *)ck);
    sha256_update(&h, strlen(ts), (const uint8_t *)ts);
    sha256_digest(&h, sizeof d, d);
    bw_hex_encode(d, SHA256_DIGEST_SIZE, id);

    /* explanation */
    exp->n = 0;
    fmt_secs(t1, sizeof t1, e->sleep_s);
    if (kind == K_DP)
        sb_printf(exp, "%u sources ", res->nmem);
    if (e->model == BW_JM_GROWING) {
        fmt_secs(t1, sizeof t1, e->grow_first);
        fmt_secs(t2, sizeof t2, e->grow_top);
        sb_printf(exp, "sleeps grow %s to %s in a ", t1, t2);
        fmt_secs(t1, sizeof t1, e->sleep_s);
        sb_printf(exp, "%s cycle, %.0f %% of beats, ", t1, e->seen * 100);
    } else if (isfinite(e->jitter))
        sb_printf(exp, "every %s, jitter %.0f %% (%s), %.0f %% of beats, ", t1,
                  e->jitter * 100, bw_jm_name(e->model), e->seen * 100);
    else
        sb_printf(exp, "every %s, %.0f %% of beats, ", t1, e->seen * 100);
    fmt_bytes(t1, sizeof t1, res->smed, res->sreg);
    fmt_bytes(t2, sizeof t2, res->dmed, res->dreg);
    sb_printf(exp, "%s / %s %s, ", t1, t2,
              res->sreg >= 0.8 && res->dreg >= 0.8 ? "constant" : "varying");
    fmt_thousands(t1, sizeof t1, res->sources);
    fmt_thousands(t2, sizeof t2, total_src);
    sb_printf(exp, "%s of %s sources", t1, t2);
    if (res->benign)
        sb_printf(exp, "; benign: %s", res->benign);
    if (exp->oom)
        return BW_ERR_NOMEM;

    doc->n = 0;
    sb_cat(doc, "{\"@timestamp\":\"");
    sb_cat(doc, ts);
    sb_cat(doc, "\",\"rule\":\"beaconwatch\",\"group\":{\"by\":\"");
    sb_cat(doc, kind_names[kind]);
    sb_cat(doc, "\",\"source\":");
    sb_str(doc, src, strlen(src));
    sb_cat(doc, ",\"destination\":");
    sb_str(doc, dst, strlen(dst));
    sb_cat(doc, "},\"source\":{\"ip\":\"");
    bw_ip_format(&gs, t1);
    sb_cat(doc, t1);
    sb_cat(doc, "\"},\"destination\":{\"ip\":\"");
    bw_ip_format(&gd, t1);
    sb_cat(doc, t1);
    sb_cat(doc, "\"");
    if (gport(s, g) != 0xffff)
        sb_printf(doc, ",\"port\":%u", gport(s, g));
    if (kind == K_SD) {
        sb_cat(doc, ",\"domain\":");
        sb_str(doc, dst, strlen(dst));
    }
    sb_cat(doc, "}");
    if (kind == K_HP) {
        sb_cat(doc, ",\"host\":{\"name\":");
        sb_str(doc, src, strlen(src));
        sb_cat(doc, "},\"process\":{\"name\":");
        sb_str(doc, dst, strlen(dst));
        sb_cat(doc, "}");
    }
    sb_cat(doc, ",\"beacon\":{\"sleep_s\":");
    sb_num(doc, e->sleep_s);
    sb_cat(doc, ",\"sleep_ci\":[");
    sb_num(doc, e->s_lo);
    sb_cat(doc, ",");
    sb_num(doc, e->s_hi);
    sb_cat(doc, "],\"jitter\":");
    sb_num(doc, e->jitter);
    sb_cat(doc, ",\"jitter_ci\":[");
    sb_num(doc, e->j_lo);
    sb_cat(doc, ",");
    sb_num(doc, e->j_hi);
    sb_printf(doc, "],\"jitter_model\":\"%s\",\"mean_sleep_s\":", bw_jm_name(e->model));
    sb_num(doc, e->mean_sleep);
    sb_printf(doc, ",\"events\":%zu,\"beats\":%zu,\"beats_expected\":", e->nevents, e->nbeats);
    sb_num(doc, e->expected);
    sb_cat(doc, ",\"beats_seen\":");
    sb_num(doc, e->seen);
    sb_cat(doc, ",\"burst_s\":");
    sb_num(doc, e->burst_s);
    sb_printf(doc, ",\"first\":\"%s\",\"last\":\"%s\",\"coverage\":", first, last);
    sb_num(doc, res->coverage);
    sb_cat(doc, ",\"src_bytes\":{\"median\":");
    sb_num(doc, res->smed);
    sb_cat(doc, ",\"regularity\":");
    sb_num(doc, res->sreg);
    sb_cat(doc, "},\"dst_bytes\":{\"median\":");
    sb_num(doc, res->dmed);
    sb_cat(doc, ",\"regularity\":");
    sb_num(doc, res->dreg);
    sb_printf(doc, "},\"sources\":%u,\"sources_total\":%u,", res->sources, total_src);
    if (kind == K_DP) {
        sb_printf(doc, "\"periodic_sources\":%u,\"source_ips\":[", res->nmem);
        for (uint32_t m = 0; m < res->nmem && m < 100; m++) {
            const shard *ms = &r->sh[REF_SHARD(dpm[res->mem0 + m])];
            bw_ip mi = gsrc(ms, GRP(ms, REF_LOCAL(dpm[res->mem0 + m])));
            bw_ip_format(&mi, t1);
            sb_printf(doc, "%s\"%s\"", m ? "," : "", t1);
        }
        sb_cat(doc, "],");
    }
    sb_cat(doc, "\"dispersion\":");
    sb_num(doc, e->qcd);
    sb_cat(doc, ",\"dispersion_random\":");
    sb_num(doc, e->qcd0);
    sb_cat(doc, ",\"p_value\":");
    sb_num(doc, e->p);
    sb_cat(doc, ",\"q_value\":");
    sb_num(doc, res->q);
    sb_cat(doc, ",\"benign\":");
    if (res->benign)
        sb_str(doc, res->benign, strlen(res->benign));
    else
        sb_cat(doc, "null");
    sb_cat(doc, ",\"score\":");
    sb_num(doc, res->score);
    sb_printf(doc, ",\"alert\":%s,\"explanation\":", alert ? "true" : "false");
    sb_str(doc, exp->p, exp->n);
    sb_printf(doc, "},\"finding\":{\"id\":\"%s\"}}", id);
    if (doc->oom)
        return BW_ERR_NOMEM;

    char score[16], period[32], jit[16], beats[16];
    snprintf(score, sizeof score, "%.3f", res->score);
    /* no estimate (growing sleeps have no jitter): an empty cell, not "nan" */
    period[0] = jit[0] = 0;
    if (isfinite(e->sleep_s))
        snprintf(period, sizeof period, "%.1f", e->sleep_s);
    if (isfinite(e->jitter))
        snprintf(jit, sizeof jit, "%.2f", e->jitter);
    snprintf(beats, sizeof beats, "%.0f", e->seen * 100);
    const char *cells[7] = {src, dst, score, period, jit, beats, exp->p};
    bw_finding f = {
        .rule = "beaconwatch",
        .id = id,
        .index = "beaconwatch-findings-1.0.0",
        .ts_us = win_end,
        .score = res->score,
        .alert = alert,
        .json = doc->p,
        .ncols = 7,
        .cols = cells,
    };
    if (alert)
        r->alerts++;
    if (res->benign)
        r->benign_found++;
    r->reported++;
    return fn(ctx, &f) ? BW_ERR_STOPPED : 0;
}

/* Scores a tested group (see docs/detector.md, "Score"). */
static double score_of(const bwrule *r, const result *res, uint32_t total_src)
{
    const bw_period_est *e = &res->est;
    double reg = e->qcd0 > 0 ? 1 - e->qcd / e->qcd0 : 0;
    reg = reg < 0 ? 0 : reg > 1 ? 1 : reg;
    double byt = 0.5;
    if (res->smed >= 0 && res->dmed >= 0)
        byt = (res->sreg + res->dreg) / 2;
    else if (res->smed >= 0 || res->dmed >= 0)
        byt = res->smed >= 0 ? res->sreg : res->dreg;
    double base = 0.4 * reg + 0.25 * e->seen + 0.2 * byt + 0.15 * res->coverage;
    double pop = 1;
    if (res->sources > 3) {
        double tot = total_src > 10 ? total_src : 10;
        pop = 1 - log10((double)res->sources) / log10(tot);
        if (pop < 0.2)
            pop = 0.2;
    }
    double s = base * pop * (res->benign ? r->benign_weight : 1);
    if (res->q > r->fdr)
        s *= 0.5;
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

/* ------------------------------------------------------------ popularity */

/* Distinct sources per destination, counted only for the destinations of
 * the groups that will be reported: a set of those destinations (an
 * address in key form, or a domain), one pass over every src_dst_port /
 * src_domain group collecting (destination, source) pairs for them, then
 * a sort. Also the distinct sources of all src_dst_port groups. */
typedef struct dkey {
    uint16_t len;
    char b[258]; /* key form: address (length byte + bytes) or domain */
} dkey;

typedef struct dset {
    const dkey *k; /* entries */
    uint32_t *slot; /* index + 1; 0 empty */
    size_t cap;
} dset;

/* The hash of an address or domain in key form: keyhash, but an IPv4
 * address (4 and its bytes, alone or zero-padded to 17 in an ipset) from
 * its word, as popularity() hashes two per group. A four-letter domain
 * (4 and its letters) takes the same path; each set only needs its keys
 * hashed one way. */
static uint64_t dhash(const bwrule *r, const char *b, size_t n)
{
    if (b[0] == 4 && (n == 5 || n == 17)) {
        uint32_t w;
        memcpy(&w, b + 1, 4);
        return nh_final((uint64_t)(uint32_t)(w + r->nhk[0]) * (uint32_t)(4 + r->nhk[1]) +
                        r->nhz[1]);
    }
    return keyhash(r, b, n);
}

static uint32_t dset_find(const bwrule *r, const dset *d, const char *b, size_t n)
{
    if (!d->cap)
        return 0;
    for (size_t h = dhash(r, b, n) & (d->cap - 1); d->slot[h]; h = (h + 1) & (d->cap - 1)) {
        const dkey *k = &d->k[d->slot[h] - 1];
        if (k->len == n && !memcmp(k->b, b, n))
            return d->slot[h];
    }
    return 0;
}

/* Inserts entry i (index into d->k) unless an equal key is there; returns
 * the index + 1 of the entry holding the key. */
static uint32_t dset_put(const bwrule *r, dset *d, uint32_t i)
{
    const dkey *k = &d->k[i];
    size_t h = dhash(r, k->b, k->len) & (d->cap - 1);
    for (; d->slot[h]; h = (h + 1) & (d->cap - 1)) {
        const dkey *o = &d->k[d->slot[h] - 1];
        if (o->len == k->len && !memcmp(o->b, k->b, k->len))
            return d->slot[h];
    }
    d->slot[h] = i + 1;
    return i + 1;
}

typedef struct pair {
    uint32_t dest; /* candidate index + 1 */
    char src[17];  /* source in key form */
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->dest != y->dest)
        return x->dest < y->dest ? -1 : 1;
    return memcmp(x->src, y->src, 17);
}

/* A 16-byte address set for the distinct sources overall. */
typedef struct ipset {
    uint8_t (*a)[17];
    size_t cap, n;
} ipset;

static int ipset_add(const bwrule *r, ipset *s, const char *k)
{
    uint8_t v[17] = {0};
    memcpy(v, k, k[0] == 4 ? 5 : 17);
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        uint8_t(*na)[17] = calloc(nc, sizeof *na);
        if (!na)
            return BW_ERR_NOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->a[i][0])
                continue;
            size_t h = dhash(r, (const char *)s->a[i], 17) & (nc - 1);
            while (na[h][0])
                h = (h + 1) & (nc - 1);
            memcpy(na[h], s->a[i], 17);
        }
        free(s->a);
        s->a = na;
        s->cap = nc;
    }
    size_t h = dhash(r, (const char *)v, 17) & (s->cap - 1);
    for (; s->a[h][0]; h = (h + 1) & (s->cap - 1))
        if (!memcmp(s->a[h], v, 17))
            return 0;
    memcpy(s->a[h], v, 17);
    s->n++;
    return 0;
}

/* The destination of result x in key form (address or domain) into k;
 * *dom set when it is a domain. */
static void dest_of(const bwrule *r, const result *x, dkey *k, int *dom)
{
    const shard *s = &r->sh[REF_SHARD(x->ref)];
    const group *g = GRP(s, REF_LOCAL(x->ref));
    const char *kb = KEY(g) + 1;
    *dom = kind_of(s, g) == K_SD;
    if (*dom) {
        size_t il = kb[0] == 4 ? 5 : 17;
        k->len = (uint16_t)((unsigned char)kb[il] + 1);
        memcpy(k->b, kb + il, k->len);
    } else {
        bw_ip d = gdst(s, g);
        k->len = (uint16_t)put_ip(k->b, &d);
    }
}

/* One thread's part of popularity()'s walk over the groups: shards
 * [s0, s1), its own source set and (destination, source) pairs. */
typedef struct pop_part {
    const bwrule *r;
    const dset *ds; /* addresses, domains: the results' destinations */
    int s0, s1;
    ipset all;
    /* IPv4 sources already in `all`, direct-mapped by address (bit 32:
     * set), so that a source seen again skips the set's hash and compare */
    uint64_t seen4[1024];
    pair *pr;
    size_t np, cappr;
    int err;
} pop_part;

static void *pop_walk(void *arg)
{
    pop_part *pp = arg;
    const bwrule *r = pp->r;
    for (int si = pp->s0; si < pp->s1; si++) {
        const shard *s = &r->sh[si];
        for (uint32_t gi = 0; gi < s->wn; gi += rec_words(GRP(s, gi))) {
            const group *g = GRP(s, gi);
            char lb[SDP4_LEN + 2];
            const char *k = key_long(KEY(g), lb);
            int kind = k[0] - 'A';
            if (kind != K_SDP && kind != K_SD)
                continue;
            const char *src = k + 1;
            size_t sl = src[0] == 4 ? 5 : 17;
            const char *dst = src + sl;
            size_t dl = kind == K_SDP ? (dst[0] == 4 ? 5 : 17) : (size_t)(unsigned char)dst[0] + 1;
            if (kind == K_SDP) {
                uint32_t a4 = 0;
                uint64_t *seen = NULL;
                if (sl == 5) {
                    memcpy(&a4, src + 1, 4);
                    seen = &pp->seen4[(a4 * 2654435761u) >> 22];
                }
                if (!seen || *seen != ((uint64_t)1 << 32 | a4)) {
                    if ((pp->err = ipset_add(r, &pp->all, src)))
                        return NULL;
                    if (seen)
                        *seen = (uint64_t)1 << 32 | a4;
                }
            }
            uint32_t c = dset_find(r, &pp->ds[kind == K_SD], dst, dl);
            if (!c)
                continue;
            if (pp->np == pp->cappr) {
                size_t nc = pp->cappr ? pp->cappr * 2 : 1024;
                pair *npr = realloc(pp->pr, nc * sizeof *npr);
                if (!npr) {
                    pp->err = BW_ERR_NOMEM;
                    return NULL;
                }
                pp->pr = npr;
                pp->cappr = nc;
            }
            pair *x = &pp->pr[pp->np++];
            x->dest = c;
            memset(x->src, 0, sizeof x->src);
            memcpy(x->src, src, sl);
        }
    }
    return NULL;
}

/* Sets res[i].sources for the n results and *total_src: every group is
 * walked (half the shards on a second thread), so that a destination's
 * sources are counted over all groups, not only the tested ones. */
static int popularity(const bwrule *r, result *res, size_t n, uint32_t *total_src)
{
    int err = 0;
    dkey *keys = malloc((n + 1) * sizeof *keys);
    uint32_t *which = malloc((n + 1) * sizeof *which);
    uint32_t *cnt = calloc(n + 1, sizeof *cnt);
    dset ds[2] = {{0}, {0}}; /* addresses, domains */
    pop_part pp[2];
    memset(pp, 0, sizeof pp);
    if (!keys || !which || !cnt) {
        err = BW_ERR_NOMEM;
        goto out;
    }
    size_t cap = 16;
    while (cap < 2 * (n + 1))
        cap *= 2;
    for (int d = 0; d < 2; d++) {
        ds[d].k = keys;
        ds[d].cap = cap;
        if (!(ds[d].slot = calloc(cap, sizeof *ds[d].slot))) {
            err = BW_ERR_NOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int dom;
        dest_of(r, &res[i], &keys[i], &dom);
        which[i] = dset_put(r, &ds[dom], (uint32_t)i);
    }
    for (int t = 0; t < 2; t++) {
        pp[t].r = r;
        pp[t].ds = ds;
        pp[t].s0 = t * NSHARD / 2;
        pp[t].s1 = (t + 1) * NSHARD / 2;
    }
    pthread_t th;
    int started = pthread_create(&th, NULL, pop_walk, &pp[1]) == 0;
    pop_walk(&pp[0]);
    if (started)
        pthread_join(th, NULL);
    else
        pop_walk(&pp[1]);
    if ((err = pp[0].err ? pp[0].err : pp[1].err))
        goto out;
    /* the second part into the first */
    for (size_t i = 0; i < pp[1].all.cap && !err; i++)
        if (pp[1].all.a[i][0])
            err = ipset_add(r, &pp[0].all, (const char *)pp[1].all.a[i]);
    if (!err && pp[1].np) {
        pair *npr = realloc(pp[0].pr, (pp[0].np + pp[1].np) * sizeof *npr);
        if (!npr)
            err = BW_ERR_NOMEM;
        else {
            memcpy(npr + pp[0].np, pp[1].pr, pp[1].np * sizeof *npr);
            pp[0].pr = npr;
            pp[0].np += pp[1].np;
        }
    }
    if (err)
        goto out;
    pair *pr = pp[0].pr;
    size_t np = pp[0].np;
    if (np)
        qsort(pr, np, sizeof *pr, cmp_pair);
    for (size_t i = 0; i < np; i++)
        if (i == 0 || pr[i].dest != pr[i - 1].dest || memcmp(pr[i].src, pr[i - 1].src, 17))
            cnt[pr[i].dest - 1]++;
    for (size_t i = 0; i < n; i++)
        res[i].sources = cnt[which[i] - 1] ? cnt[which[i] - 1] : 1;
    *total_src = (uint32_t)pp[0].all.n;
out:
    free(keys);
    free(which);
    free(cnt);
    free(ds[0].slot);
    free(ds[1].slot);
    for (int t = 0; t < 2; t++) {
        free(pp[t].pr);
        free(pp[t].all.a);
    }
    return err;
}

/* ------------------------------------------------------------ analysis */

/* finish() sorts and analyses the shards on two threads: each takes the
 * next shard, moves its log (block by block, freeing them) into one
 * buffer ordered by group with a counting sort, and tests every group. */
typedef struct fin_job {
    bwrule *r;
    int64_t w0, w1;
    int64_t tmin; /* ticks of the earliest event kept: time 0 of the sort keys */
    double wlen, p_max;
    double p_mean; /* mean sleeps: dst_port's members need them */
    _Atomic int next;
    pthread_mutex_t mu;
    result *res;
    size_t nres, capres;
    size_t skipped; /* tested groups left out of res */
    int err;
} fin_job;

static int push_result(result **v, size_t *n, size_t *cap, const result *x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        result *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return BW_ERR_NOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = *x;
    return 0;
}

/* Sorts ev (n) by time: most slices are already sorted, or two sorted runs
 * (one per worker); anything else goes to qsort. */
static void sort_events(uint64_t *sv, size_t n, uint64_t *tmp)
{
    size_t cut = 0, k;
    for (k = 1; k < n; k++) {
        if (SORT_TIME(sv[k]) < SORT_TIME(sv[k - 1])) {
            if (cut)
                break;
            cut = k;
        }
    }
    if (!cut)
        return;
    if (k < n) {
        qsort(sv, n, sizeof *sv, cmp_u64);
        return;
    }
    /* merge [0, cut) and [cut, n) through tmp */
    memcpy(tmp, sv, cut * sizeof *sv);
    size_t i = 0, j = cut, o = 0;
    while (i < cut && j < n)
        sv[o++] = SORT_TIME(tmp[i]) <= SORT_TIME(sv[j]) ? tmp[i++] : sv[j++];
    while (i < cut)
        sv[o++] = tmp[i++];
}

static void *fin_worker(void *arg)
{
    fin_job *j = arg;
    bwrule *r = j->r;
    int err = 0;
    double *t = NULL, *scratch = NULL; /* a group's times; the estimator's */
    uint64_t *tmp = NULL;
    size_t maxn = 0; /* events they have room for */
    uint64_t *buf = NULL;
    uint32_t *off = NULL; /* per shard: where each group's events go */
    size_t bufcap = 0, offcap = 0;
    result *loc = NULL;
    size_t nloc = 0, caploc = 0, nskip = 0;
    for (;;) {
        int si = atomic_fetch_add(&j->next, 1);
        if (si >= NSHARD)
            break;
        shard *s = &r->sh[si];
        /* finish runs once: no lookup comes again, so the shard's table
         * goes back before its buffers below are allocated (lower peak) */
        free(s->table);
        s->table = NULL;
        s->tcap = 0;
        if (s->nev > UINT32_MAX) { /* off[] holds 32-bit positions */
            err = BW_ERR_LIMIT;
            goto out;
        }
        if (s->wn + 1 > offcap) { /* indexed by local id (word offset) */
            free(off);
            offcap = s->wn + 1 + s->wn / 4;
            if (!(off = malloc(offcap * sizeof *off))) {
                offcap = 0;
                err = BW_ERR_NOMEM;
                goto out;
            }
        }
        /* only the groups that can be tested (a third of the Zeek bench
         * file's events are in groups below min_beats) */
        size_t pos = 0, smax = 0;
        for (uint32_t i = 0; i < s->wn; i += rec_words(GRP(s, i))) {
            uint32_t gn = GRP(s, i)->n;
            off[i] = gn < (uint32_t)r->min_beats ? UINT32_MAX : (uint32_t)pos;
            pos += gn < (uint32_t)r->min_beats ? 0 : gn;
            smax = gn > smax ? gn : smax;
        }
        if (smax > maxn) {
            free(t);
            free(scratch);
            free(tmp);
            maxn = smax;
            t = malloc((maxn + 1) * sizeof *t);
            scratch = malloc((3 * maxn + 3) * sizeof *scratch);
            tmp = malloc((maxn + 1) * sizeof *tmp);
            if (!t || !scratch || !tmp) {
                err = BW_ERR_NOMEM;
                goto out;
            }
        }
        if (pos > bufcap) {
            free(buf);
            bufcap = pos + pos / 4;
            if (!(buf = malloc(bufcap * sizeof *buf))) {
                bufcap = 0;
                err = BW_ERR_NOMEM;
                goto out;
            }
        }
        for (int o = 0; o < MAX_ORIGIN; o++) {
            for (int wide = 0; wide < 2; wide++) {
                for (evblock *b = wide ? s->log[o].whead : s->log[o].head, *nb; b; b = nb) {
                    nb = b->next;
                    for (uint32_t k = 0; k < b->n; k += wide ? 2 : 1) {
                        uint64_t e = b->e[k + wide];
                        if (k + 16 < b->n) /* off[] is a cache miss per event */
                            __builtin_prefetch(&off[EV_GID(b->e[k + 16 + wide])]);
                        uint32_t *at = &off[EV_GID(e)];
                        if (*at == UINT32_MAX)
                            continue;
                        int64_t dt = (wide ? (int64_t)b->e[k] : b->base + EV_DT(e)) - j->tmin;
                        if (dt > SORT_TMAX)
                            dt = SORT_TMAX;
                        buf[(*at)++] = (uint64_t)dt << 22 | EV_BYTES(e);
                    }
                    free(b);
                }
            }
            memset(&s->log[o], 0, sizeof s->log[o]);
        }
        /* off[i] is now the end of group i's events */
        for (uint32_t i = 0; i < s->wn; i += rec_words(GRP(s, i))) {
            group *g = GRP(s, i);
            if (g->n < (uint32_t)r->min_beats)
                continue;
            uint64_t *sv = buf + off[i] - g->n;
            sort_events(sv, g->n, tmp);
            size_t n = 0;
            for (uint32_t k = 0; k < g->n; k++) {
                int64_t us = (j->tmin + (int64_t)SORT_TIME(sv[k])) * TICK_US;
                if (us < j->w0 || us > j->w1)
                    continue;
                t[n++] = (double)(us - j->w0) / 1e6;
            }
            if (n < (size_t)r->min_beats)
                continue;
            result x;
            memset(&x, 0, sizeof x);
            x.ref = REF(si, i);
            x.key = KEY(g);
            x.keylen = key_len(KEY(g));
            /* q >= p: a group with p above fdr can never be reported, so its
             * sleep and jitter are not worth estimating (unless --all) */
            if (!bw_period_estimate(t, n, scratch, j->p_max, j->p_mean, &x.est) ||
                x.est.nbeats < (size_t)r->min_beats)
                continue;
            int dp_cand = (r->groupings & (1 << K_DP)) && kind_of(s, g) == K_SDP &&
                          x.est.p <= r->dp_p;
            /* a group that can be neither reported (q >= p > fdr) nor a
             * dst_port member only counts as a test (see finish) */
            if (x.est.p > j->p_max && !dp_cand) {
                nskip++;
                continue;
            }
            if (x.est.estimated || dp_cand) {
                /* the estimator used scratch: decode the sizes again */
                for (size_t k = 0, m = 0; k < g->n; k++) {
                    int64_t us = (j->tmin + (int64_t)SORT_TIME(sv[k])) * TICK_US;
                    if (us < j->w0 || us > j->w1)
                        continue;
                    scratch[m] = bytes_value((unsigned)(sv[k] >> 11) & 0x7ff);
                    scratch[maxn + 1 + m] = bytes_value((unsigned)sv[k] & 0x7ff);
                    m++;
                }
                byte_stats(scratch, n, &x.smed, &x.sreg);
                byte_stats(scratch + maxn + 1, n, &x.dmed, &x.dreg);
            }
            x.coverage = j->wlen > 0 ? (x.est.last_s - x.est.first_s) / j->wlen : 1;
            if (x.coverage > 1)
                x.coverage = 1;
            if ((err = push_result(&loc, &nloc, &caploc, &x)))
                goto out;
        }
    }
out:
    pthread_mutex_lock(&j->mu);
    j->skipped += nskip;
    if (!err)
        for (size_t i = 0; i < nloc && !err; i++)
            err = push_result(&j->res, &j->nres, &j->capres, &loc[i]);
    if (err && !j->err)
        j->err = err;
    pthread_mutex_unlock(&j->mu);
    free(t);
    free(scratch);
    free(tmp);
    free(buf);
    free(off);
    free(loc);
    return NULL;
}

/* ------------------------------------------------------------ dst_port */

/* "3 sources: 198.51.100.7, 198.51.100.9, 203.0.113.4" (shortened with
 * "..." when it does not fit). */
static void dp_sources_text(const bwrule *r, const result *res, const uint32_t *dpm,
                            char *buf, size_t cap)
{
    size_t o = (size_t)snprintf(buf, cap, "%u sources:", res->nmem);
    for (uint32_t m = 0; m < res->nmem && o < cap; m++) {
        const shard *ms = &r->sh[REF_SHARD(dpm[res->mem0 + m])];
        bw_ip ip = gsrc(ms, GRP(ms, REF_LOCAL(dpm[res->mem0 + m])));
        char a[BW_IP_STRLEN];
        bw_ip_format(&ip, a);
        if (o + strlen(a) + 6 >= cap) {
            snprintf(buf + o, cap - o, " ...");
            return;
        }
        o += (size_t)snprintf(buf + o, cap - o, "%s %s", m ? "," : "", a);
    }
}

/* Fisher's combination: P(chi2 with 2k degrees of freedom > -2 sum ln p). */
static double fisher_p(const double *p, size_t k)
{
    double x = 0;
    for (size_t i = 0; i < k; i++)
        x += -log(p[i] > 1e-300 ? p[i] : 1e-300);
    /* upper tail of chi2(2k) at 2x: e^-x sum_{i<k} x^i / i! */
    double sum = 0, lx = log(x > 0 ? x : 1e-300);
    for (size_t i = 0; i < k; i++)
        sum += exp(-x + (double)i * lx - lgamma((double)i + 1));
    return sum > 1 ? 1 : sum;
}

typedef struct dp_ent {
    char dst[19]; /* destination in key form (length byte + address) + port */
    double sleep;
    size_t ri; /* index in the results */
} dp_ent;

static int cmp_dp(const void *a, const void *b)
{
    const dp_ent *x = a, *y = b;
    int c = memcmp(x->dst, y->dst, sizeof x->dst);
    if (c)
        return c;
    return x->sleep < y->sleep ? -1 : x->sleep > y->sleep;
}

static double median_of(double *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            v[m++] = v[i];
    if (!m)
        return NAN;
    bw_select(v, m, m / 2);
    if (m % 2)
        return v[m / 2];
    double lo = v[0]; /* the largest below v[m / 2]: the (m / 2 - 1)-th */
    for (size_t i = 1; i < m / 2; i++)
        lo = v[i] > lo ? v[i] : lo;
    return (lo + v[m / 2]) / 2;
}

/* The dst_port results: per destination (address, port), the src_dst_port
 * series with a p-value of at most dp_p whose mean sleeps lie within
 * DP_SLEEP_SPREAD of each other (the largest such set); when they are at
 * least dp_min, one result whose p-value is Fisher's combination of their
 * p-values, each divided by dp_p (given that it was at most dp_p, a
 * random series' p-value is uniform on [0, dp_p]). Appended to *res;
 * member refs to *dpm. */
static int dst_port_results(const bwrule *r, result **res, size_t *nres, size_t *capres,
                            uint32_t **dpm, size_t *ndpm, double wlen)
{
    int err = 0;
    size_t n0 = *nres, nc = 0;
    dp_ent *c = malloc((n0 + 1) * sizeof *c);
    double *v = malloc((n0 + 1) * sizeof *v);
    size_t capm = 0;
    if (!c || !v) {
        err = BW_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n0; i++) {
        const result *x = &(*res)[i];
        const shard *s = &r->sh[REF_SHARD(x->ref)];
        const group *g = GRP(s, REF_LOCAL(x->ref));
        if (kind_of(s, g) != K_SDP || x->est.p > r->dp_p || !(x->est.mean_sleep > 0))
            continue;
        char lb[SDP4_LEN + 2];
        const char *k = key_long(KEY(g), lb) + 1;
        const char *d = k + (k[0] == 4 ? 5 : 17);
        size_t dl = d[0] == 4 ? 5 : 17;
        memset(c[nc].dst, 0, sizeof c[nc].dst);
        memcpy(c[nc].dst, d, dl + 2);
        c[nc].sleep = x->est.mean_sleep;
        c[nc].ri = i;
        nc++;
    }
    if (nc)
        qsort(c, nc, sizeof *c, cmp_dp);
    for (size_t i = 0; i < nc;) {
        size_t e = i;
        while (e < nc && !memcmp(c[e].dst, c[i].dst, sizeof c[i].dst))
            e++;
        /* the widest window of similar sleeps (sorted by sleep) */
        size_t bi = i, bn = 0;
        for (size_t a = i, b = i; a < e; a++) {
            if (b < a)
                b = a;
            while (b < e && c[b].sleep <= c[a].sleep * DP_SLEEP_SPREAD)
                b++;
            if (b - a > bn) {
                bn = b - a;
                bi = a;
            }
        }
        size_t dst_end = e;
        if (bn < (size_t)r->dp_min) {
            i = dst_end;
            continue;
        }
        result x;
        memset(&x, 0, sizeof x);
        x.nmem = (uint32_t)bn;
        x.mem0 = *ndpm;
        if (*ndpm + bn > capm) {
            size_t ncap = capm ? capm * 2 : 256;
            while (ncap < *ndpm + bn)
                ncap *= 2;
            uint32_t *nm = realloc(*dpm, ncap * sizeof *nm);
            if (!nm) {
                err = BW_ERR_NOMEM;
                goto out;
            }
            *dpm = nm;
            capm = ncap;
        }
        /* the member with the smallest p-value represents the group (its
         * source is source.ip; its estimate, when made, gives S and J) */
        const result *best = NULL;
        const result *best_est = NULL;
        bw_period_est *ae = &x.est;
        ae->ok = ae->estimated = 1;
        ae->first_s = INFINITY;
        ae->last_s = -INFINITY;
        for (size_t m = 0; m < bn; m++) {
            const result *y = &(*res)[c[bi + m].ri];
            (*dpm)[(*ndpm)++] = y->ref;
            v[m] = y->est.p / r->dp_p;
            if (!best || y->est.p < best->est.p)
                best = y;
            if (y->est.estimated && (!best_est || y->est.p < best_est->est.p))
                best_est = y;
            ae->nevents += y->est.nevents;
            ae->nbeats += y->est.nbeats;
            ae->nsingles += y->est.nsingles;
            ae->expected += y->est.expected;
            if (y->est.first_s < ae->first_s)
                ae->first_s = y->est.first_s;
            if (y->est.last_s > ae->last_s)
                ae->last_s = y->est.last_s;
        }
        ae->p = fisher_p(v, bn);
        ae->z = NAN;
        x.ref = best->ref;
        x.key = best->key;
        x.keylen = best->keylen;
#define DP_MEDIAN(field, out)                                                              \
    do {                                                                                   \
        for (size_t m = 0; m < bn; m++)                                                    \
            v[m] = (*res)[c[bi + m].ri].field;                                             \
        out = median_of(v, bn);                                                            \
    } while (0)
        DP_MEDIAN(est.mean_sleep, ae->mean_sleep);
        DP_MEDIAN(est.seen, ae->seen);
        DP_MEDIAN(est.burst_s, ae->burst_s);
        DP_MEDIAN(est.qcd, ae->qcd);
        DP_MEDIAN(est.qcd0, ae->qcd0);
        for (size_t m = 0; m < bn; m++) { /* unknown sizes (< 0) are left out */
            double sm = (*res)[c[bi + m].ri].smed;
            v[m] = sm >= 0 ? sm : NAN;
        }
        x.smed = median_of(v, bn);
        for (size_t m = 0; m < bn; m++) {
            double dm = (*res)[c[bi + m].ri].dmed;
            v[m] = dm >= 0 ? dm : NAN;
        }
        x.dmed = median_of(v, bn);
        DP_MEDIAN(sreg, x.sreg);
        DP_MEDIAN(dreg, x.dreg);
#undef DP_MEDIAN
        if (!isfinite(x.smed))
            x.smed = -1, x.sreg = 0;
        if (!isfinite(x.dmed))
            x.dmed = -1, x.dreg = 0;
        if (best_est) {
            const bw_period_est *b = &best_est->est;
            ae->sleep_s = b->sleep_s;
            ae->jitter = b->jitter;
            ae->model = b->model;
            ae->grow_first = b->grow_first;
            ae->grow_top = b->grow_top;
            ae->s_lo = b->s_lo;
            ae->s_hi = b->s_hi;
            ae->j_lo = b->j_lo;
            ae->j_hi = b->j_hi;
        } else {
            ae->sleep_s = ae->mean_sleep;
            ae->jitter = ae->j_lo = ae->j_hi = ae->s_lo = ae->s_hi = NAN;
            ae->model = -1;
        }
        x.coverage = wlen > 0 ? (ae->last_s - ae->first_s) / wlen : 1;
        if (x.coverage > 1)
            x.coverage = 1;
        if ((err = push_result(res, nres, capres, &x)))
            goto out;
        i = dst_end;
    }
out:
    free(c);
    free(v);
    return err;
}

/* Bytes held by the state (what `summary` reports per event). */
static size_t state_bytes(const bwrule *r)
{
    size_t bytes = sizeof *r;
    for (int si = 0; si < NSHARD; si++) {
        const shard *s = &r->sh[si];
        bytes += s->wcap * 4 + s->tcap * sizeof *s->table +
                 s->capaux * sizeof *s->aux + (size_t)s->capsdx * 3 * sizeof *s->sdx;
        for (int o = 0; o < MAX_ORIGIN; o++)
            for (int wide = 0; wide < 2; wide++)
                for (const evblock *b = wide ? s->log[o].whead : s->log[o].head; b; b = b->next)
                    bytes += sizeof *b + b->cap * sizeof(uint64_t);
    }
    return bytes;
}

static int finish(void *st, const bw_run *run, bw_finding_fn fn, void *ctx, bw_errbuf *eb)
{
    bwrule *r = st;
    int err = 0;
    double *pq = NULL;
    bw_pidx *pidx = NULL;
    sbuf doc = {0}, exp = {0};
    fin_job *j = NULL;
    result *res = NULL;
    size_t nres = 0, capres = 0, ndpm = 0;
    uint32_t *dpm = NULL;
    if ((err = flush(r)))
        return bw_errf(eb, err, "beaconwatch: out of memory");
    pend_free(r); /* the queue is not needed again until the next add */
    if (r->max_us == INT64_MIN)
        return 0;
    r->mem_peak = state_bytes(r);
    int64_t w0 = run->start_us != BW_UNSET ? run->start_us : r->min_us;
    int64_t w1 = run->end_us != BW_UNSET   ? run->end_us
                 : run->now_us != BW_UNSET ? run->now_us
                                           : r->max_us;

    if (!(j = calloc(1, sizeof *j))) {
        err = bw_errf(eb, BW_ERR_NOMEM, "beaconwatch: out of memory");
        goto out;
    }
    j->r = r;
    j->w0 = w0;
    j->w1 = w1;
    j->tmin = ticks_of(r->min_us);
    j->wlen = (double)(w1 - w0) / 1e6;
    j->p_max = run->all ? 1.0 : r->fdr;
    j->p_mean = (r->groupings & (1 << K_DP)) ? r->dp_p : 0;
    atomic_init(&j->next, 0);
    pthread_mutex_init(&j->mu, NULL);
    pthread_t th;
    int started = pthread_create(&th, NULL, fin_worker, j) == 0;
    fin_worker(j);
    if (started)
        pthread_join(th, NULL);
    pthread_mutex_destroy(&j->mu);
    res = j->res;
    nres = j->nres;
    capres = j->capres;
    j->res = NULL;
    if (j->err) {
        err = j->err == BW_ERR_LIMIT
                  ? bw_errf(eb, j->err, "beaconwatch: more than %u events in one shard",
                            UINT32_MAX)
                  : bw_errf(eb, j->err, "beaconwatch: out of memory");
        goto out;
    }
    if ((r->groupings & (1 << K_DP)) &&
        (err = dst_port_results(r, &res, &nres, &capres, &dpm, &ndpm, j->wlen))) {
        err = bw_errf(eb, err, "beaconwatch: out of memory");
        goto out;
    }
    r->tested = nres + j->skipped;

    /* false discovery control across every group tested in this run */
    pq = malloc((nres + 1) * sizeof *pq);
    pidx = malloc((nres + 1) * sizeof *pidx);
    if (!pq || !pidx) {
        err = bw_errf(eb, BW_ERR_NOMEM, "beaconwatch: out of memory");
        goto out;
    }
    for (size_t i = 0; i < nres; i++)
        pq[i] = res[i].est.p;
    /* the groups left out of res (p > fdr, no dst_port member) have larger
     * p-values than any group that can be reported: with their number in m
     * every q <= fdr is the one over all tests */
    bw_bh_adjust_m(pq, nres, nres + j->skipped, pidx);
    size_t keep = 0;
    for (size_t i = 0; i < nres; i++) {
        res[i].q = pq[i];
        if ((res[i].q > r->fdr && !run->all) || !res[i].est.estimated)
            continue;
        res[keep++] = res[i];
    }
    uint32_t total_src = 0;
    if ((err = popularity(r, res, keep, &total_src))) {
        err = bw_errf(eb, err, "beaconwatch: out of memory");
        goto out;
    }
    for (size_t i = 0; i < keep; i++) {
        shard *s = &r->sh[REF_SHARD(res[i].ref)];
        res[i].benign = benign_match(r, s, REF_LOCAL(res[i].ref));
        res[i].score = score_of(r, &res[i], total_src);
    }
    if (keep)
        qsort(res, keep, sizeof *res, cmp_result);
    for (size_t i = 0; i < keep; i++) {
        err = report(r, &res[i], dpm, w0, w1, total_src, &doc, &exp, fn, ctx);
        if (err == BW_ERR_STOPPED) {
            bw_errf(eb, err, "beaconwatch: stopped by the findings callback");
            goto out;
        }
        if (err) {
            bw_errf(eb, err, "beaconwatch: out of memory");
            goto out;
        }
    }
out:
    free(j);
    free(res);
    free(dpm);
    free(pq);
    free(pidx);
    free(doc.p);
    free(exp.p);
    return err;
}

static size_t summary(const void *st, char *buf, size_t cap)
{
    const bwrule *r = st;
    size_t bytes = r->mem_peak ? r->mem_peak : state_bytes(r);
    int n = snprintf(buf, cap,
                     "offered %llu records, kept %llu (%llu events in %zu groups, %.1f bytes "
                     "per event, %.1f per kept record); no address %llu, no time %llu, "
                     "internal destination %llu, dropped at the group cap %llu, at the event "
                     "caps %llu; out of order %llu (kept); tested %llu groups, reported %llu, "
                     "alerts %llu, benign %llu",
                     r->c.offered, r->c.kept, r->c.events,
                     atomic_load(&((bwrule *)r)->co->ngroups),
                     r->c.events ? (double)bytes / (double)r->c.events : 0.0,
                     r->c.kept ? (double)bytes / (double)r->c.kept : 0.0, r->c.no_addr,
                     r->c.no_time, r->c.internal_dst, r->c.cap_groups, r->c.cap_events,
                     r->c.out_of_order, r->tested, r->reported, r->alerts, r->benign_found);
    return n < 0 ? 0 : (size_t)n;
}

const bw_rule_ops bw_rule_beaconwatch_ops = {
    .name = "beaconwatch",
    .create = create,
    .destroy = destroy,
    .set = set,
    .params = params,
    .clone = clone_state,
    .clone_shared = clone_shared,
    .add = add,
    .merge = merge,
    .columns = columns,
    .ncols = 7,
    .finish = finish,
    .summary = summary,
};
