/* The seeded session generator (bw_gen.h): a simulated workplace whose
 * traffic sources (one browsing process per host, periodic software, a few
 * beacons) sit in a min-heap keyed by their next event time, so records come
 * out in time order with memory independent of the record count. Output is
 * hand-formatted into a large buffer: this is the benchmark's data source
 * and must write millions of records a second. */
#include "beaconwatch/bw_gen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- PRNG */

/* xoshiro256** seeded through splitmix64: fast, good, and the same stream
 * on every platform (rand() is neither). */
typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_u64(rng *r)
{
    uint64_t *s = r->s;
    const uint64_t out = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1). */
static inline double rng_unit(rng *r)
{
    return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n); n > 0. The modulo bias is below 2^-32 for
 * every n used here. */
static inline uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)((rng_u64(r) >> 32) * n >> 32);
}

static inline double rng_range(rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

static inline double rng_exp(rng *r, double mean)
{
    return -log(1.0 - rng_unit(r)) * mean;
}

static double rng_normal(rng *r)
{
    double u1 = 1.0 - rng_unit(r), u2 = rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Log-normal with the given median; capped so sizes stay plausible. */
static int64_t rng_lognormal(rng *r, double median, double sigma, double cap)
{
    double v = median * exp(sigma * rng_normal(r));
    if (v > cap)
        v = cap;
    return (int64_t)v;
}

/* ------------------------------------------------------- the workplace */

enum { OS_WIN, OS_MAC, OS_LINUX };
enum { P_TCP, P_UDP };
enum { ST_SF, ST_S0, ST_REJ };
enum { M_CS, M_SYM, M_SLIVER };
enum { SVC_NONE, SVC_SSL, SVC_HTTP, SVC_DNS, SVC_NTP, SVC_KRB, SVC_LDAP, SVC_SMB, SVC_DCE };

static const char *const zeek_svc[] = {"-", "ssl", "http", "dns", "ntp",
                                       "krb_tcp", "ldap", "smb", "dce_rpc"};
static const char *const eve_svc[] = {NULL, "tls", "http", "dns", "ntp",
                                      "krb5", "ldap", "smb", "dcerpc"};
static const char *const model_name[] = {"cs", "symmetric", "sliver"};

/* Beacons that evade timing analysis (bw_gen_opts.evasions). */
enum { EV_NONE, EV_FIB, EV_EXP, EV_WORK, EV_SCHED, EV__COUNT };
static const char *const evasion_name[] = {"standard", "fibonacci", "exponential", "workhours",
                                           "schedule-change"};

/* An address with its canonical text, formatted once at setup. */
typedef struct gaddr {
    bw_ip ip;
    uint8_t len;
    char txt[40];
} gaddr;

typedef struct host {
    gaddr v4, v6; /* v6.ip.family == 0: IPv4 only */
    char name[16];
    uint8_t os;
    /* browsing state */
    uint8_t pending;      /* a DNS lookup was emitted; the connection follows */
    uint32_t pend_dest;
    uint16_t pend_proc;
    uint16_t next_port;
    uint8_t nat; /* behind the NAT gateway (bw_gen_opts.nat_hosts) */
    double rate; /* browsing connections per second at diurnal weight 1 */
} host;

typedef struct dest {
    gaddr v4, v6;
    uint16_t port;
    uint8_t svc;
    double resp_median;
    char name[40];
} dest;

/* A process that browses and what it talks to. */
enum { D_WEB, D_MS };
typedef struct proc_def {
    const char *name;
    uint16_t weight;
    uint8_t dest;
} proc_def;

static const proc_def win_procs[] = {
    {"chrome.exe", 38, D_WEB},  {"msedge.exe", 18, D_WEB},   {"firefox.exe", 5, D_WEB},
    {"OUTLOOK.EXE", 8, D_MS},   {"Teams.exe", 9, D_MS},      {"OneDrive.exe", 4, D_MS},
    {"svchost.exe", 5, D_MS},   {"slack.exe", 4, D_WEB},     {"python.exe", 2, D_WEB},
    {"curl.exe", 1, D_WEB},     {"Code.exe", 3, D_WEB},      {"POWERPNT.EXE", 1, D_MS},
    {"Zoom.exe", 2, D_WEB},
};
static const proc_def mac_procs[] = {
    {"Google Chrome Helper", 35, D_WEB}, {"com.apple.WebKit.Networking", 20, D_WEB},
    {"Microsoft Outlook", 8, D_MS},      {"Microsoft Teams", 8, D_MS},
    {"Slack Helper", 6, D_WEB},          {"nsurlsessiond", 5, D_WEB},
    {"python3", 3, D_WEB},               {"curl", 2, D_WEB},
};
static const proc_def linux_procs[] = {
    {"firefox", 30, D_WEB}, {"chrome", 25, D_WEB}, {"python3", 12, D_WEB}, {"curl", 8, D_WEB},
    {"wget", 3, D_WEB},     {"git", 5, D_WEB},     {"code", 5, D_WEB},     {"java", 4, D_WEB},
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const proc_def *p;
    size_t n;
} os_procs[] = {{win_procs, NELEM(win_procs)},
                {mac_procs, NELEM(mac_procs)},
                {linux_procs, NELEM(linux_procs)}};

static const char *const dns_proc[] = {"svchost.exe", "mDNSResponder", "systemd-resolved"};

/* Internal services: domain controllers and a file server. */
typedef struct internal_def {
    uint8_t server; /* index into internal server addresses */
    uint16_t port;
    uint8_t svc;
    const char *proc[3];
} internal_def;
static const internal_def internal_defs[] = {
    {0, 88, SVC_KRB, {"lsass.exe", "kdc", "sssd"}},
    {1, 389, SVC_LDAP, {"lsass.exe", "opendirectoryd", "sssd"}},
    {0, 135, SVC_DCE, {"svchost.exe", "smbd", "smbd"}},
    {2, 445, SVC_SMB, {"System", "smbd", "mount.cifs"}},
};

/* Benign periodic software every host may run. */
typedef struct periodic_def {
    const char *proc[3]; /* per OS; NULL: not on that OS */
    uint8_t pool;        /* destination pool: 0 NTP, 1 Microsoft, 2 vendor */
    uint16_t port;
    uint8_t proto, svc;
    double pmin, pmax; /* period range, s; pmin == pmax: fixed */
    int pow2;          /* period is a power of two in [pmin, pmax] */
    double jitter;
    uint8_t model;
    double share; /* fraction of hosts running it */
    uint32_t req, resp;
    double var; /* relative size noise */
} periodic_def;

static const periodic_def periodic_defs[] = {
    {{"svchost.exe", "timed", "chronyd"}, 0, 123, P_UDP, SVC_NTP,
     64, 1024, 1, 0.002, M_SYM, 1.0, 48, 48, 0.0},
    {{"MsSense.exe", "wdavdaemon", "mdatp"}, 1, 443, P_TCP, SVC_SSL,
     300, 300, 0, 0.02, M_SYM, 0.9, 1480, 420, 0.05},
    {{"GoogleUpdate.exe", "softwareupdated", "packagekitd"}, 2, 443, P_TCP, SVC_SSL,
     3600, 3600, 0, 0.05, M_SYM, 0.6, 900, 2400, 0.2},
    {{"svchost.exe", "analyticsd", NULL}, 1, 443, P_TCP, SVC_SSL,
     900, 900, 0, 0.3, M_CS, 0.7, 2600, 600, 0.4},
    {{"Dropbox.exe", "Dropbox", "dropbox"}, 2, 443, P_TCP, SVC_SSL,
     600, 600, 0, 0.05, M_SYM, 0.15, 700, 350, 0.1},
};

static const char *const beacon_procs[3][6] = {
    {"rundll32.exe", "powershell.exe", "svchost.exe", "dllhost.exe", "WmiPrvSE.exe",
     "msedge_update.exe"},
    {"com.apple.updater", "python3", "osascript", "Finder Helper", "curl", "softwared"},
    {"python3", "kworkerd", "sshd-helper", "bash", "dbus-daemon-x", "curl"},
};
/* Sleeps up to an hour always; the longer ones only when the run holds at
 * least 20 of them (a 24 h run: up to an hour; three weeks: up to a day). */
static const double beacon_periods[] = {10,   15,   30,    45,    60,    120,  300,  600,
                                        900,  1800, 3600,  7200,  14400, 21600, 43200, 86400};
#define SHORT_PERIODS 11
static const double cs_jitters[] = {0.0, 0.1, 0.2, 0.3, 0.5};
static const double sym_jitters[] = {0.05, 0.1, 0.2, 0.3};
static const double sliver_jitters[] = {0.1, 0.3, 0.5};
static const double missed_probs[] = {0.0, 0.02, 0.05, 0.1, 0.15, 0.2};
static const double retry_probs[] = {0.0, 0.01, 0.03};
static const uint16_t beacon_ports[] = {443, 443, 80, 8080, 8443};

/* The well-known head of the popularity curve. */
static const char *const top_names[] = {
    "www.google.com",       "fonts.gstatic.com",    "www.youtube.com",   "cdn.jsdelivr.net",
    "www.gstatic.com",      "ajax.googleapis.com",  "github.com",        "api.github.com",
    "www.wikipedia.org",    "static.xx.fbcdn.net",  "www.linkedin.com",  "cdnjs.cloudflare.com",
    "s3.amazonaws.com",     "www.bing.com",         "slack.com",         "zoom.us",
    "stackoverflow.com",    "www.reddit.com",       "docs.python.org",   "pypi.org",
};
static const char *const tlds[] = {"com", "net", "org", "io", "de", "co.uk", "fr", "nl"};

/* Periodic flow: benign software or a malicious beacon. */
typedef struct psrc {
    int64_t period_us;
    int64_t beat_us;    /* scheduled time of the next beat */
    int64_t period2_us; /* EV_FIB/EV_EXP: longest sleep; EV_SCHED: the new one */
    int64_t change_us;  /* EV_SCHED: when period2_us takes over */
    double jitter, missed, retry, var;
    uint32_t host;
    uint32_t label0; /* labels label0 .. label0+ndst-1 */
    const char *proc;
    uint32_t req, resp;
    uint16_t dport;
    uint8_t model, proto, svc, ndst, rr, retries_left, malicious, tasked;
    uint8_t evasion, step; /* EV_*; position in a growing sleep sequence */
} psrc;

typedef struct label_ext {
    const gaddr *dst;
    const char *domain;
} label_ext;

/* One generated record before formatting. */
typedef struct ev {
    int64_t ts_us, dur_us; /* dur_us < 0: unknown */
    int64_t obytes, rbytes; /* < 0: unknown */
    const gaddr *src, *dst;
    const host *h;
    const char *proc;
    const char *domain;
    uint64_t uid;
    uint32_t hidx;
    uint32_t opkts, rpkts;
    uint16_t sport, dport;
    uint8_t proto, svc, state, internal_dst;
} ev;

/* Output buffer; records are formatted straight into it. */
#define OB_CAP (4u << 20)
#define OB_SLACK 4096 /* more than one formatted record ever needs */
typedef struct obuf {
    char *p;
    size_t n;
    FILE *f;
    int err;
} obuf;

/* "YYYY-MM-DDTHH:MM:SS" of one second, cached because consecutive records
 * mostly fall into the same second. */
typedef struct tcache {
    int64_t sec;
    char txt[24];
} tcache;

struct bw_gen {
    bw_gen_opts o;
    rng r;
    uint64_t count;
    int64_t end_us;
    double wnorm; /* 1 / mean diurnal weight over the run */

    host *hosts;
    uint32_t nhosts;
    dest *dests;
    double *zipf_cdf;
    uint32_t ndests;
    gaddr ms_pool[64];
    gaddr ntp_pool[4];
    gaddr vendor_pool[16];
    gaddr resolvers[2];
    gaddr servers[3];
    gaddr *c2s; /* beacon destinations, 3 per beacon at most */
    uint32_t nc2s;
    uint32_t proc_total[3];

    psrc *ps;
    uint32_t nps;
    bw_gen_label *labels;
    label_ext *lext;
    size_t nlabels;

    /* heap of source ids: id < nhosts is host id's browsing, else the
     * periodic source id - nhosts */
    uint32_t *heap;
    int64_t *next_us;
    uint32_t nsrc;

    int label_of_ev; /* label index of the last event, -1 when none */
    char *names;     /* storage for generated names (domains) */
    size_t names_n, names_cap;
    tcache tc[2];
};

/* ------------------------------------------------------------- helpers */

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void two(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/* Fills c->txt for second sec: "YYYY-MM-DDTHH:MM:SS" (19 chars). */
static void tcache_fill(tcache *c, int64_t sec)
{
    int64_t days = floordiv(sec, 86400), y;
    int64_t rem = sec - days * 86400;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0)
        y = 0;
    if (y > 9999)
        y = 9999;
    two(c->txt, (unsigned)(y / 100));
    two(c->txt + 2, (unsigned)(y % 100));
    c->txt[4] = '-';
    two(c->txt + 5, m);
    c->txt[7] = '-';
    two(c->txt + 8, d);
    c->txt[10] = 'T';
    two(c->txt + 11, (unsigned)(rem / 3600));
    c->txt[13] = ':';
    two(c->txt + 14, (unsigned)(rem / 60 % 60));
    c->txt[16] = ':';
    two(c->txt + 17, (unsigned)(rem % 60));
    c->sec = sec;
}

#define PUTL(w, s) (memcpy((w), (s), sizeof(s) - 1), (w) + sizeof(s) - 1)

static inline char *put_mem(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

static inline char *put_str(char *w, const char *s)
{
    return put_mem(w, s, strlen(s));
}

static char *put_u64(char *w, uint64_t v)
{
    char tmp[24];
    int i = 24;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return put_mem(w, tmp + i, (size_t)(24 - i));
}

static char *put_i64(char *w, int64_t v)
{
    if (v < 0) {
        *w++ = '-';
        return put_u64(w, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(w, (uint64_t)v);
}

/* Exactly n digits of v (zero-padded). */
static char *put_fixed(char *w, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        w[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return w + n;
}

/* Seconds with six fraction digits, as Zeek writes ts and duration. */
static char *put_secs(char *w, int64_t us)
{
    int64_t s = floordiv(us, 1000000);
    w = put_i64(w, s);
    *w++ = '.';
    return put_fixed(w, (uint64_t)(us - s * 1000000), 6);
}

/* RFC 3339 with `digits` (3 or 6) fraction digits, no zone suffix. */
static char *put_rfc(char *w, tcache *c, int64_t us, int digits)
{
    int64_t s = floordiv(us, 1000000);
    if (s != c->sec)
        tcache_fill(c, s);
    w = put_mem(w, c->txt, 19);
    *w++ = '.';
    uint64_t frac = (uint64_t)(us - s * 1000000);
    return digits == 3 ? put_fixed(w, frac / 1000, 3) : put_fixed(w, frac, 6);
}

static void ob_flush(obuf *b)
{
    if (b->n && fwrite(b->p, 1, b->n, b->f) != b->n)
        b->err = errno ? errno : EIO;
    b->n = 0;
}

static inline void ob_commit(obuf *b, char *w)
{
    b->n = (size_t)(w - b->p);
    if (b->n > OB_CAP - OB_SLACK)
        ob_flush(b);
}

/* --------------------------------------------------------------- setup */

static void addr_v4(gaddr *a, uint32_t v)
{
    memset(a, 0, sizeof *a);
    a->ip.a[10] = 0xff;
    a->ip.a[11] = 0xff;
    a->ip.a[12] = (uint8_t)(v >> 24);
    a->ip.a[13] = (uint8_t)(v >> 16);
    a->ip.a[14] = (uint8_t)(v >> 8);
    a->ip.a[15] = (uint8_t)v;
    a->ip.family = 4;
    char *w = a->txt;
    for (int i = 12; i < 16; i++) {
        w = put_u64(w, a->ip.a[i]);
        if (i < 15)
            *w++ = '.';
    }
    a->len = (uint8_t)(w - a->txt);
    *w = 0;
}

/* Eight 16-bit groups; the caller keeps groups 0-3 and 7 non-zero and 4-6
 * zero, so "a:b:c:d::h" is the RFC 5952 text. */
static void addr_v6(gaddr *a, const uint16_t g[8])
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < 8; i++) {
        a->ip.a[2 * i] = (uint8_t)(g[i] >> 8);
        a->ip.a[2 * i + 1] = (uint8_t)g[i];
    }
    a->ip.family = 6;
    int n = snprintf(a->txt, sizeof a->txt, "%x:%x:%x:%x::%x", g[0], g[1], g[2], g[3], g[7]);
    a->len = (uint8_t)n;
}

static int reserved_v4(uint32_t v)
{
    uint32_t a = v >> 24, b = (v >> 16) & 0xff, c = (v >> 8) & 0xff;
    return a == 0 || a == 10 || a == 127 || a >= 224 || (a == 100 && (b & 0xc0) == 64) ||
           (a == 169 && b == 254) || (a == 172 && (b & 0xf0) == 16) ||
           (a == 192 && b == 168) || (a == 192 && b == 0 && (c == 0 || c == 2)) ||
           (a == 192 && b == 88 && c == 99) || (a == 198 && (b & 0xfe) == 18) ||
           (a == 198 && b == 51 && c == 100) || (a == 203 && b == 0 && c == 113) ||
           (a == 192 && b == 31 && c == 196) || (a == 192 && b == 52 && c == 193) ||
           (a == 192 && b == 175 && c == 48);
}

static void public_v4(rng *r, gaddr *a)
{
    uint32_t v;
    do {
        v = (uint32_t)rng_u64(r);
        /* avoid network and broadcast-looking last octets */
    } while (reserved_v4(v) || (v & 0xff) == 0 || (v & 0xff) == 255);
    addr_v4(a, v);
}

static void public_v6(rng *r, gaddr *a)
{
    static const uint16_t heads[] = {0x2a00, 0x2a01, 0x2a02, 0x2a03, 0x2a04,
                                     0x2600, 0x2604, 0x2606, 0x2607, 0x2620};
    uint16_t g[8] = {0};
    g[0] = heads[rng_below(r, NELEM(heads))];
    for (int i = 1; i < 4; i++)
        g[i] = (uint16_t)(1 + rng_below(r, 0xffff));
    g[7] = (uint16_t)(1 + rng_below(r, 0xffff));
    addr_v6(a, g);
}

/* An address inside prefix/bits (IPv4). */
static void prefix_v4(rng *r, gaddr *a, uint32_t prefix, int bits)
{
    uint32_t hbits = (uint32_t)rng_u64(r) & (bits == 0 ? 0xffffffffu : (0xffffffffu >> bits));
    hbits |= 1u; /* never .0 */
    addr_v4(a, prefix | hbits);
}

static const char *name_store(bw_gen *g, const char *s)
{
    size_t n = strlen(s) + 1;
    if (g->names_n + n > g->names_cap)
        return NULL; /* sized at setup; cannot happen */
    char *p = g->names + g->names_n;
    memcpy(p, s, n);
    g->names_n += n;
    return p;
}

/* A pronounceable made-up name: 2-4 syllables. */
static void made_up(rng *r, char *buf, size_t cap)
{
    static const char cons[] = "bcdfghklmnprstvz";
    static const char vow[] = "aeiou";
    size_t n = 0;
    int syl = 2 + (int)rng_below(r, 3);
    for (int i = 0; i < syl && n + 3 < cap; i++) {
        buf[n++] = cons[rng_below(r, sizeof cons - 1)];
        buf[n++] = vow[rng_below(r, sizeof vow - 1)];
        if (rng_below(r, 3) == 0)
            buf[n++] = cons[rng_below(r, sizeof cons - 1)];
    }
    buf[n] = 0;
}

static void make_domain(rng *r, char *buf, size_t cap, const char *prefix)
{
    char word[16];
    made_up(r, word, sizeof word);
    snprintf(buf, cap, "%s%s.%s", prefix, word, tlds[rng_below(r, NELEM(tlds))]);
}

static const double diurnal[24] = {0.15, 0.1,  0.1, 0.1, 0.1, 0.15, 0.3,  0.7,
                                   1.4,  1.8,  1.9, 1.8, 1.4, 1.7,  1.9,  1.8,
                                   1.5,  1.0,  0.6, 0.45, 0.4, 0.35, 0.3, 0.2};

static double weight_at(int64_t us)
{
    int64_t h = floordiv(us, 3600000000LL) % 24;
    if (h < 0)
        h += 24;
    return diurnal[h];
}

static double mean_sleep(const psrc *p)
{
    double per = (double)p->period_us;
    switch (p->model) {
    case M_CS:
        return per * (1.0 - p->jitter / 2);
    case M_SLIVER:
        return per * (1.0 + p->jitter / 2);
    default:
        return per;
    }
}

static int64_t sleep_us(rng *r, const psrc *p)
{
    double per = (double)p->period_us, s;
    switch (p->model) {
    case M_CS:
        s = per * (1.0 - p->jitter * rng_unit(r));
        break;
    case M_SLIVER:
        s = per + per * p->jitter * rng_unit(r);
        break;
    default:
        s = per * (1.0 + p->jitter * (2 * rng_unit(r) - 1));
        break;
    }
    if (p->malicious)
        s += rng_range(r, 0, 150000.0); /* implant wake-up and TLS setup */
    return s < 1000000.0 ? 1000000 : (int64_t)s;
}

/* Working hours of the EV_WORK beacon: Monday to Friday, 08:00-18:00 UTC. */
static int working(int64_t us)
{
    int64_t day = floordiv(us, 86400000000LL);
    int64_t hour = floordiv(us, 3600000000LL) - day * 24;
    int dow = (int)((day + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    if (dow < 0)
        dow += 7;
    return dow >= 1 && dow <= 5 && hour >= 8 && hour < 18;
}

/* The next start of working hours at or after us. */
static int64_t next_work_start(int64_t us)
{
    int64_t day = floordiv(us, 86400000000LL);
    for (int i = 0; i < 8; i++, day++) {
        int64_t start = day * 86400000000LL + 8 * 3600000000LL;
        if (start >= us && working(start))
            return start;
    }
    return us; /* not reached: a week always has a working morning */
}

static const uint8_t fib_mult[] = {1, 1, 2, 3, 5, 8, 13, 21, 34, 55};
#define EXP_STEPS 7 /* 1, 2, 4 ... 64 sleeps */

/* When the beat after one due at t happens: the jitter model's sleep,
 * bent by the source's evasion. */
static int64_t next_beat(rng *r, psrc *p, int64_t t)
{
    double mult = 1;
    switch (p->evasion) {
    case EV_FIB:
        mult = fib_mult[p->step];
        p->step = (uint8_t)((p->step + 1) % NELEM(fib_mult));
        break;
    case EV_EXP:
        mult = (double)(1u << p->step);
        p->step = (uint8_t)((p->step + 1) % EXP_STEPS);
        break;
    case EV_SCHED:
        if (t >= p->change_us)
            p->period_us = p->period2_us;
        break;
    default:
        break;
    }
    int64_t nt = t + (int64_t)(mult * (double)sleep_us(r, p));
    if (p->evasion == EV_WORK && !working(nt))
        nt = next_work_start(nt) + (int64_t)(rng_unit(r) * (double)p->period_us);
    return nt;
}

static void add_label(bw_gen *g, int id, const psrc *p, const gaddr *dst, const char *domain)
{
    const host *h = &g->hosts[p->host];
    bw_gen_label *l = &g->labels[g->nlabels];
    l->id = id;
    l->kind = p->malicious ? "beacon" : "benign";
    l->src = dst->ip.family == 6 ? h->v6.txt : h->v4.txt;
    l->host = h->name;
    l->process = p->proc;
    l->dst = dst->txt;
    l->dport = p->dport;
    l->transport = p->proto == P_UDP ? "udp" : "tcp";
    l->period_s = (double)p->period_us / 1e6;
    l->jitter = p->jitter;
    l->model = model_name[p->model];
    l->cls = !p->malicious ? "periodic"
             : p->evasion   ? evasion_name[p->evasion]
             : h->nat       ? "nat"
                            : "standard";
    l->period2_s = (double)p->period2_us / 1e6;
    l->change_us = p->evasion == EV_SCHED ? p->change_us : BW_UNSET;
    l->missed = p->missed;
    l->retry = p->retry;
    l->records = 0;
    l->first_us = l->last_us = BW_UNSET;
    g->lext[g->nlabels].dst = dst;
    g->lext[g->nlabels].domain = domain;
    g->nlabels++;
}

static void setup_hosts(bw_gen *g)
{
    rng *r = &g->r;
    double wsum = 0;
    for (uint32_t i = 0; i < g->nhosts; i++) {
        host *h = &g->hosts[i];
        uint32_t site = 20 + i / (250 * 256), vlan = (i / 250) % 256, j = 10 + i % 250;
        addr_v4(&h->v4, (10u << 24) | (site << 16) | (vlan << 8) | j);
        double u = rng_unit(r);
        h->os = u < 0.8 ? OS_WIN : u < 0.92 ? OS_MAC : OS_LINUX;
        snprintf(h->name, sizeof h->name, "%s-%05u",
                 h->os == OS_WIN ? "ws" : h->os == OS_MAC ? "mac" : "lx", i + 1);
        if (rng_unit(r) < 0.2) {
            uint16_t g6[8] = {0x2001, 0xdb8, (uint16_t)site, (uint16_t)(vlan + 1), 0, 0, 0,
                              (uint16_t)j};
            addr_v6(&h->v6, g6);
        }
        h->next_port = (uint16_t)(h->os == OS_WIN ? 49152 + rng_below(r, 16000)
                                                  : 32768 + rng_below(r, 28000));
        h->rate = exp(0.8 * rng_normal(r)); /* heavy and light users */
        wsum += h->rate;
    }
    for (uint32_t i = 0; i < g->nhosts; i++)
        g->hosts[i].rate /= wsum; /* a share of the total, scaled later */
}

static int setup_dests(bw_gen *g)
{
    rng *r = &g->r;
    double sum = 0;
    for (uint32_t i = 0; i < g->ndests; i++) {
        dest *d = &g->dests[i];
        public_v4(r, &d->v4);
        if (rng_unit(r) < 0.15)
            public_v6(r, &d->v6);
        if (i < NELEM(top_names))
            snprintf(d->name, sizeof d->name, "%s", top_names[i]);
        else
            make_domain(r, d->name, sizeof d->name, rng_below(r, 2) ? "www." : "");
        d->port = rng_unit(r) < 0.88 ? 443 : 80;
        d->svc = d->port == 443 ? SVC_SSL : SVC_HTTP;
        d->resp_median = 6000.0 * exp(1.2 * rng_normal(r));
        sum += 1.0 / (double)(i + 1); /* Zipf, exponent 1 */
        g->zipf_cdf[i] = sum;
    }
    for (uint32_t i = 0; i < g->ndests; i++)
        g->zipf_cdf[i] /= sum;
    g->zipf_cdf[g->ndests - 1] = 1.0;

    static const struct {
        uint32_t net;
        int bits;
    } ms[] = {{0x0D680000u, 14}, {0x28600000u, 12}, {0x14280000u, 13}, {0x34A00000u, 11}};
    for (size_t i = 0; i < NELEM(g->ms_pool); i++)
        prefix_v4(r, &g->ms_pool[i], ms[i % NELEM(ms)].net, ms[i % NELEM(ms)].bits);
    for (size_t i = 0; i < NELEM(g->ntp_pool); i++)
        public_v4(r, &g->ntp_pool[i]);
    for (size_t i = 0; i < NELEM(g->vendor_pool); i++)
        public_v4(r, &g->vendor_pool[i]);
    addr_v4(&g->resolvers[0], 0x0A000035u); /* 10.0.0.53 */
    addr_v4(&g->resolvers[1], 0x0A000135u); /* 10.0.1.53 */
    addr_v4(&g->servers[0], 0x0A00000Au);   /* dc01 10.0.0.10 */
    addr_v4(&g->servers[1], 0x0A00000Bu);   /* dc02 10.0.0.11 */
    addr_v4(&g->servers[2], 0x0A000014u);   /* files 10.0.0.20 */
    for (int os = 0; os < 3; os++) {
        g->proc_total[os] = 0;
        for (size_t i = 0; i < os_procs[os].n; i++)
            g->proc_total[os] += os_procs[os].p[i].weight;
    }
    return 0;
}

static double setup_benign(bw_gen *g, int *id)
{
    rng *r = &g->r;
    double dur = (double)g->o.duration_us, expected = 0;
    /* the fleet's EDR talks to one or two addresses; update vendors to a
     * handful: destination popularity across hosts is part of realism */
    for (uint32_t hi = 0; hi < g->nhosts; hi++) {
        const host *h = &g->hosts[hi];
        for (size_t k = 0; k < NELEM(periodic_defs); k++) {
            const periodic_def *d = &periodic_defs[k];
            if (!d->proc[h->os] || rng_unit(r) >= d->share)
                continue;
            psrc *p = &g->ps[g->nps];
            memset(p, 0, sizeof *p);
            double per = d->pmin;
            if (d->pow2) {
                int steps = (int)(log2(d->pmax / d->pmin) + 0.5);
                per = d->pmin * (double)(1u << rng_below(r, (uint32_t)steps + 1));
            } else if (d->pmax > d->pmin) {
                per = rng_range(r, d->pmin, d->pmax);
            }
            p->period_us = (int64_t)(per * 1e6);
            p->jitter = d->jitter;
            p->model = d->model;
            p->missed = 0.002;
            p->var = d->var;
            p->host = hi;
            p->proc = d->proc[h->os];
            p->req = d->req;
            p->resp = d->resp;
            p->dport = d->port;
            p->proto = d->proto;
            p->svc = d->svc;
            p->ndst = 1;
            const gaddr *dst = d->pool == 0   ? &g->ntp_pool[rng_below(r, 4)]
                               : d->pool == 1 ? &g->ms_pool[rng_below(r, 2) + 4 * k]
                                              : &g->vendor_pool[rng_below(r, 3) + 3 * (k % 5)];
            p->label0 = (uint32_t)g->nlabels;
            add_label(g, (*id)++, p, dst, NULL);
            p->beat_us = g->o.start_us + (int64_t)(rng_unit(r) * (double)p->period_us);
            expected += (dur - (double)(p->beat_us - g->o.start_us)) / mean_sleep(p) *
                        (1 - p->missed);
            g->nps++;
        }
    }
    return expected;
}

/* Entries of beacon_periods usable in this run (see there). */
static uint32_t nperiods(const bw_gen *g)
{
    uint32_t n = SHORT_PERIODS;
    while (n < NELEM(beacon_periods) && beacon_periods[n] * 20e6 <= (double)g->o.duration_us)
        n++;
    return n;
}

/* Records a beacon is expected to make over the run (to scale browsing). */
static double beacon_expected(const bw_gen *g, const psrc *p)
{
    double dur = (double)g->o.duration_us;
    double left = dur - (double)(p->beat_us - g->o.start_us), ms = mean_sleep(p);
    switch (p->evasion) {
    case EV_FIB:
        ms *= 143.0 / 10; /* mean of the ten Fibonacci multiples */
        break;
    case EV_EXP:
        ms *= 127.0 / EXP_STEPS;
        break;
    case EV_WORK:
        ms /= 50.0 / 168; /* working hours are 50 of a week's 168 */
        break;
    default:
        break;
    }
    return left / ms * (1 - p->missed) * (1 + 2 * p->retry);
}

/* One malicious beacon on host hi (over IPv6 when v6) with jitter model
 * `model`, its sleep drawn from beacon_periods[plo .. phi), bent by
 * `evasion`. Adds its labels; returns its expected record count. */
static double add_beacon(bw_gen *g, uint32_t hi, int v6, uint8_t model, uint32_t plo,
                         uint32_t phi, uint8_t evasion, int *id)
{
    rng *r = &g->r;
    double dur = (double)g->o.duration_us;
    const host *h = &g->hosts[hi];
    psrc *p = &g->ps[g->nps];
    memset(p, 0, sizeof *p);
    p->malicious = 1;
    p->host = hi;
    p->model = model;
    p->evasion = evasion;
    uint32_t pi = plo + rng_below(r, phi - plo);
    p->period_us = (int64_t)(beacon_periods[pi] * 1e6);
    p->jitter = p->model == M_CS    ? cs_jitters[rng_below(r, NELEM(cs_jitters))]
                : p->model == M_SYM ? sym_jitters[rng_below(r, NELEM(sym_jitters))]
                                    : sliver_jitters[rng_below(r, NELEM(sliver_jitters))];
    p->missed = missed_probs[rng_below(r, NELEM(missed_probs))];
    p->retry = retry_probs[rng_below(r, NELEM(retry_probs))];
    p->proc = beacon_procs[h->os][rng_below(r, 6)];
    p->dport = beacon_ports[rng_below(r, NELEM(beacon_ports))];
    p->proto = P_TCP;
    p->svc = (p->dport == 443 || p->dport == 8443) ? SVC_SSL : SVC_HTTP;
    p->req = 180 + rng_below(r, 400);
    p->resp = 90 + rng_below(r, 1800);
    p->ndst = rng_unit(r) < 0.7 ? 1 : (uint8_t)(2 + rng_below(r, 2));
    if (evasion == EV_FIB)
        p->period2_us = p->period_us * fib_mult[NELEM(fib_mult) - 1];
    else if (evasion == EV_EXP)
        p->period2_us = p->period_us << (EXP_STEPS - 1);
    else if (evasion == EV_SCHED) {
        /* a sleep at least four list steps away (e.g. 60 s -> 600 s), or
         * the farthest one when the run is too short for that */
        uint32_t far = 0, pj;
        for (uint32_t k = plo; k < phi; k++)
            far += k + 4 <= pi || pi + 4 <= k;
        if (far) {
            uint32_t pick = rng_below(r, far);
            for (pj = plo;; pj++)
                if ((pj + 4 <= pi || pi + 4 <= pj) && pick-- == 0)
                    break;
        } else {
            pj = pi - plo >= phi - 1 - pi ? plo : phi - 1;
        }
        p->period2_us = (int64_t)(beacon_periods[pj] * 1e6);
        p->change_us = g->o.start_us + (int64_t)(rng_range(r, 0.35, 0.65) * dur);
    }
    p->label0 = (uint32_t)g->nlabels;
    char dom[40];
    make_domain(r, dom, sizeof dom, rng_below(r, 2) ? "cdn-" : "api.");
    const char *domain = name_store(g, dom);
    int bid = (*id)++;
    for (int k = 0; k < p->ndst; k++) {
        gaddr *a = &g->c2s[g->nc2s++];
        if (v6)
            public_v6(r, a);
        else
            public_v4(r, a);
        add_label(g, bid, p, a, domain);
    }
    /* most implants run from early on; some arrive later in the run */
    double startf = rng_unit(r) < 0.5 ? 0.0 : rng_range(r, 0.0, 0.3);
    p->beat_us = g->o.start_us + (int64_t)(startf * dur) +
                 (int64_t)(rng_unit(r) * (double)p->period_us);
    if (evasion == EV_WORK && !working(p->beat_us))
        p->beat_us = next_work_start(p->beat_us) + (int64_t)(rng_unit(r) * (double)p->period_us);
    g->nps++;
    return beacon_expected(g, p);
}

static double setup_beacons(bw_gen *g, int nbeacons, int *id)
{
    rng *r = &g->r;
    double expected = 0;
    for (int b = 0; b < nbeacons; b++) {
        uint32_t hi = rng_below(r, g->nhosts);
        int v6 = 0;
        if (b == 1) { /* one IPv6 beacon when some host has IPv6 */
            for (uint32_t k = 0; k < g->nhosts; k++) {
                uint32_t c = (hi + k) % g->nhosts;
                if (g->hosts[c].v6.ip.family) {
                    hi = c;
                    v6 = 1;
                    break;
                }
            }
        }
        expected += add_beacon(g, hi, v6, (uint8_t)(b % 3), 0, nperiods(g), EV_NONE, id);
    }
    return expected;
}

/* The hosts behind the NAT gateway share its address and name; without
 * IPv6, all their traffic leaves through it. */
static void setup_nat(bw_gen *g)
{
    for (uint32_t i = 0; i < g->o.nat_hosts; i++) {
        host *h = &g->hosts[i];
        addr_v4(&h->v4, 0x0A130001u); /* BW_GEN_NAT_ADDR */
        memset(&h->v6, 0, sizeof h->v6);
        snprintf(h->name, sizeof h->name, "%s", BW_GEN_NAT_HOST);
        h->nat = 1;
    }
}

/* Beacons on NAT'd hosts (one per jitter model), then the evasive ones.
 * Fibonacci and exponential sequences start from a short sleep (10 s ..
 * 2 min) so that a run holds several cycles; working-hours beacons sleep
 * 30 s .. 15 min; a schedule change needs room for 20 beats either side. */
static double setup_extra_beacons(bw_gen *g, int *id)
{
    rng *r = &g->r;
    double expected = 0;
    if (g->o.nat_hosts)
        for (uint8_t m = 0; m < 3; m++)
            expected += add_beacon(g, rng_below(r, g->o.nat_hosts), 0, m, 0, nperiods(g),
                                   EV_NONE, id);
    uint32_t sched_n = 1;
    while (sched_n < nperiods(g) && beacon_periods[sched_n] * 40e6 <= (double)g->o.duration_us)
        sched_n++;
    for (uint32_t k = 0; k < g->o.evasions; k++) {
        uint8_t kind = (uint8_t)(1 + k % (EV__COUNT - 1));
        uint32_t hi = rng_below(r, g->nhosts);
        /* beacon_periods: 10 .. 120 s are entries 0 .. 5; 30 s .. 15 min 2 .. 8 */
        uint32_t plo = kind == EV_WORK ? 2 : 0;
        uint32_t phi = kind == EV_FIB || kind == EV_EXP ? 6 : kind == EV_WORK ? 9 : sched_n;
        expected += add_beacon(g, hi, 0, (uint8_t)(k / (EV__COUNT - 1) % 3), plo, phi, kind, id);
    }
    return expected;
}

/* ---------------------------------------------------------- simulation */

#define P_DNS 0.3       /* a browsing connection is preceded by a lookup */
#define P_INTERNAL 0.08 /* a browsing event goes to an internal server */
#define P_BURST 0.75    /* the next connection belongs to the same burst */
#define MS_FLAG 0x80000000u

static inline int64_t us_of(double s)
{
    return (int64_t)(s * 1e6);
}

static uint16_t ephemeral(rng *r, host *h)
{
    uint16_t lo = h->os == OS_WIN ? 49152 : 32768;
    uint32_t p = (uint32_t)h->next_port + 1 + rng_below(r, 3);
    if (p > 65535 || (h->os != OS_WIN && p > 60999))
        p = lo + rng_below(r, 200);
    h->next_port = (uint16_t)p;
    return (uint16_t)p;
}

static void tcp_pkts(ev *e)
{
    if (e->state == ST_SF) {
        e->opkts = 3 + (uint32_t)(e->obytes / 1380) + (uint32_t)(e->rbytes / 2760);
        e->rpkts = 2 + (uint32_t)(e->rbytes / 1380);
    } else if (e->state == ST_S0) {
        e->rpkts = 0;
    } else {
        e->opkts = 1;
        e->rpkts = 1;
    }
}

/* The failure modes of a TCP connection: no answer (S0) or a reset (REJ). */
static void tcp_fail(rng *r, ev *e, int rej)
{
    if (rej) {
        e->state = ST_REJ;
        e->dur_us = 50 + rng_below(r, 900);
        e->obytes = e->rbytes = 0;
    } else {
        e->state = ST_S0;
        e->dur_us = -1;
        e->obytes = e->rbytes = -1;
        e->opkts = 1 + 2 * rng_below(r, 2); /* a SYN, or a SYN and two retransmits */
    }
    tcp_pkts(e);
}

static void ev_common(ev *e, host *h, uint32_t hi, const char *proc)
{
    e->h = h;
    e->hidx = hi;
    e->proc = proc;
    e->domain = NULL;
    e->internal_dst = 0;
}

static void emit_dns(bw_gen *g, host *h, uint32_t hi, const char *qname, ev *e)
{
    rng *r = &g->r;
    ev_common(e, h, hi, dns_proc[h->os]);
    e->src = &h->v4;
    e->dst = &g->resolvers[hi & 1];
    e->internal_dst = 1;
    e->sport = ephemeral(r, h);
    e->dport = 53;
    e->proto = P_UDP;
    e->svc = SVC_DNS;
    e->state = ST_SF;
    e->obytes = 18 + (int64_t)strlen(qname);
    e->rbytes = e->obytes + 16 * (1 + (int64_t)rng_below(r, 4));
    e->dur_us = 800 + rng_below(r, 40000);
    e->opkts = e->rpkts = 1;
    e->domain = qname;
}

static void emit_web(bw_gen *g, host *h, uint32_t hi, uint32_t di, uint16_t pi, ev *e)
{
    rng *r = &g->r;
    const proc_def *pd = &os_procs[h->os].p[pi];
    ev_common(e, h, hi, pd->name);
    double resp_median = 6000;
    if (di & MS_FLAG) {
        e->dst = &g->ms_pool[di & ~MS_FLAG];
        e->src = &h->v4;
        e->dport = 443;
        e->svc = SVC_SSL;
    } else {
        const dest *d = &g->dests[di];
        int v6 = h->v6.ip.family && d->v6.ip.family;
        e->dst = v6 ? &d->v6 : &d->v4;
        e->src = v6 ? &h->v6 : &h->v4;
        e->dport = d->port;
        e->svc = d->svc;
        e->domain = d->name;
        resp_median = d->resp_median;
    }
    e->sport = ephemeral(r, h);
    e->proto = P_TCP;
    double u = rng_unit(r);
    if (u < 0.017) {
        tcp_fail(r, e, u >= 0.012);
        return;
    }
    e->state = ST_SF;
    e->obytes = 60 + rng_lognormal(r, 900, 0.9, 5e7);
    e->rbytes = rng_lognormal(r, resp_median, 1.4, 2e8);
    e->dur_us = 1000 + rng_lognormal(r, 800000, 1.5, 3.6e9);
    tcp_pkts(e);
}

static void emit_internal(bw_gen *g, host *h, uint32_t hi, ev *e)
{
    rng *r = &g->r;
    const internal_def *d = &internal_defs[rng_below(r, NELEM(internal_defs))];
    ev_common(e, h, hi, d->proc[h->os]);
    e->src = &h->v4;
    e->dst = &g->servers[d->server];
    e->internal_dst = 1;
    e->sport = ephemeral(r, h);
    e->dport = d->port;
    e->proto = P_TCP;
    e->svc = d->svc;
    e->state = ST_SF;
    e->obytes = 40 + rng_lognormal(r, 1500, 0.8, 1e8);
    e->rbytes = 40 + rng_lognormal(r, 3000, 1.0, 1e9);
    e->dur_us = 200 + rng_lognormal(r, 50000, 1.2, 3.6e9);
    tcp_pkts(e);
}

static uint32_t zipf_pick(bw_gen *g)
{
    double u = rng_unit(&g->r);
    uint32_t lo = 0, hi = g->ndests - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g->zipf_cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The time at which `amount` seconds of activity (at diurnal weight 1) have
 * passed after t: the hourly weights are piecewise constant, so the
 * cumulative weight is inverted hour by hour. This keeps the expected
 * record count exact where drawing gaps at the rate of their start would
 * let a night-time gap run on into the day. */
static int64_t warp(const bw_gen *g, int64_t t, double amount)
{
    for (int i = 0; i < 24 * 400; i++) { /* a cap: 400 days of think time */
        double w = weight_at(t) * g->wnorm;
        int64_t hour_end = (floordiv(t, 3600000000LL) + 1) * 3600000000LL;
        double room = (double)(hour_end - t) / 1e6 * w;
        if (amount <= room)
            return t + us_of(amount / w);
        amount -= room;
        t = hour_end;
    }
    return t;
}

/* Time of this host's next browsing connection: bursts of about
 * 1/(1 - P_BURST) connections close together, separated by think time, all
 * in activity time that follows the hourly rhythm of a working day. */
static int64_t browse_next(bw_gen *g, const host *h, int64_t t, int fresh)
{
    double rate = h->rate > 1e-12 ? h->rate : 1e-12;
    double cycle = 1.0 / (1.0 - P_BURST) / rate;
    double inb = cycle * 0.1 < 0.5 ? cycle * 0.1 : 0.5;
    double gap;
    if (!fresh && rng_unit(&g->r) < P_BURST)
        gap = rng_exp(&g->r, inb);
    else
        gap = rng_exp(&g->r, cycle - P_BURST / (1.0 - P_BURST) * inb);
    int64_t nt = warp(g, t, gap);
    return nt > t ? nt : t + 1;
}

static int browse(bw_gen *g, uint32_t hi, int64_t t, ev *e, int64_t *next)
{
    rng *r = &g->r;
    host *h = &g->hosts[hi];
    if (h->pending) {
        h->pending = 0;
        emit_web(g, h, hi, h->pend_dest, h->pend_proc, e);
        *next = browse_next(g, h, t, 0);
        return 1;
    }
    if (rng_unit(r) < P_INTERNAL) {
        emit_internal(g, h, hi, e);
        *next = browse_next(g, h, t, 0);
        return 1;
    }
    uint32_t pick = rng_below(r, g->proc_total[h->os]);
    uint16_t pi = 0;
    while (pick >= os_procs[h->os].p[pi].weight) {
        pick -= os_procs[h->os].p[pi].weight;
        pi++;
    }
    if (os_procs[h->os].p[pi].dest == D_MS) {
        emit_web(g, h, hi, MS_FLAG | rng_below(r, NELEM(g->ms_pool)), pi, e);
        *next = browse_next(g, h, t, 0);
        return 1;
    }
    uint32_t di = zipf_pick(g);
    if (rng_unit(r) < P_DNS) { /* cache miss: the lookup, then the connection */
        emit_dns(g, h, hi, g->dests[di].name, e);
        h->pending = 1;
        h->pend_dest = di;
        h->pend_proc = pi;
        *next = t + e->dur_us + 200 + rng_below(r, 2000);
        return 1;
    }
    emit_web(g, h, hi, di, pi, e);
    *next = browse_next(g, h, t, 0);
    return 1;
}

static void emit_periodic(bw_gen *g, psrc *p, int fail, ev *e)
{
    rng *r = &g->r;
    host *h = &g->hosts[p->host];
    uint32_t li = p->label0 + p->rr;
    p->rr = (uint8_t)((p->rr + 1) % p->ndst); /* C2 rotation, also on failover */
    const gaddr *dst = g->lext[li].dst;
    ev_common(e, h, p->host, p->proc);
    e->domain = g->lext[li].domain;
    e->dst = dst;
    e->src = dst->ip.family == 6 ? &h->v6 : &h->v4;
    e->sport = ephemeral(r, h);
    e->dport = p->dport;
    e->proto = p->proto;
    e->svc = p->svc;
    g->label_of_ev = (int)li;
    if (fail) {
        tcp_fail(r, e, rng_unit(r) < 0.3);
        return;
    }
    e->state = ST_SF;
    if (p->malicious) {
        /* constant check-in sizes; a tasking makes one response and the
         * next request (the output) larger */
        e->obytes = p->req;
        e->rbytes = p->resp;
        if (p->tasked) {
            e->obytes += rng_lognormal(r, 4000, 1.0, 5e7);
            p->tasked = 0;
        }
        if (rng_unit(r) < 0.03) {
            e->rbytes += rng_lognormal(r, 30000, 1.0, 5e7);
            p->tasked = 1;
        }
        e->dur_us = 2000 + rng_lognormal(r, 250000, 0.3, 6e7);
    } else {
        double n1 = p->var > 0 ? p->var * rng_normal(r) : 0;
        double n2 = p->var > 0 ? p->var * rng_normal(r) : 0;
        e->obytes = (int64_t)(p->req * (1 + (n1 < -0.9 ? -0.9 : n1)));
        e->rbytes = (int64_t)(p->resp * (1 + (n2 < -0.9 ? -0.9 : n2)));
        e->dur_us = 500 + rng_lognormal(r, p->proto == P_UDP ? 20000 : 300000, 0.5, 6e7);
    }
    if (p->proto == P_UDP) {
        e->opkts = e->rpkts = 1;
    } else {
        tcp_pkts(e);
    }
}

static int periodic(bw_gen *g, psrc *p, int64_t t, ev *e, int64_t *next)
{
    rng *r = &g->r;
    if (p->retries_left) { /* a retry after a failed check-in */
        p->retries_left--;
        int fail = p->retries_left > 0;
        emit_periodic(g, p, fail, e);
        *next = p->beat_us;
        if (fail) {
            int64_t nt = t + us_of(rng_range(r, 1.0, 5.0));
            if (nt < p->beat_us)
                *next = nt;
            else
                p->retries_left = 0;
        }
        return 1;
    }
    /* a beat, due at t */
    p->beat_us = next_beat(r, p, t);
    *next = p->beat_us;
    if (rng_unit(r) < p->missed)
        return 0;
    if (p->retry > 0 && rng_unit(r) < p->retry) {
        emit_periodic(g, p, 1, e);
        int64_t nt = t + us_of(rng_range(r, 1.0, 5.0));
        if (nt < p->beat_us) {
            p->retries_left = (uint8_t)(1 + rng_below(r, 3));
            *next = nt;
        }
        return 1;
    }
    emit_periodic(g, p, 0, e);
    return 1;
}

static inline int heap_less(const bw_gen *g, uint32_t a, uint32_t b)
{
    int64_t ta = g->next_us[a], tb = g->next_us[b];
    return ta < tb || (ta == tb && a < b);
}

static void sift_down(bw_gen *g, uint32_t i)
{
    uint32_t *hp = g->heap, n = g->nsrc, x = hp[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_less(g, hp[c + 1], hp[c]))
            c++;
        if (!heap_less(g, hp[c], x))
            break;
        hp[i] = hp[c];
        i = c;
    }
    hp[i] = x;
}

/* Produces the next record into e; 0 when the count is reached. */
static int gen_step(bw_gen *g, ev *e)
{
    if (g->count >= g->o.records)
        return 0;
    for (;;) {
        uint32_t id = g->heap[0];
        int64_t t = g->next_us[id], nx = t;
        int got;
        g->label_of_ev = -1;
        if (id < g->nhosts)
            got = browse(g, id, t, e, &nx);
        else
            got = periodic(g, &g->ps[id - g->nhosts], t, e, &nx);
        g->next_us[id] = nx > t ? nx : t + 1;
        sift_down(g, 0);
        if (!got)
            continue;
        e->ts_us = t;
        e->uid = rng_u64(&g->r);
        if (g->label_of_ev >= 0) {
            bw_gen_label *l = &g->labels[g->label_of_ev];
            if (l->records++ == 0)
                l->first_us = t;
            l->last_us = t;
        }
        g->count++;
        return 1;
    }
}

/* ------------------------------------------------------------- formats */

static const char *const state_name[] = {"SF", "S0", "REJ"};
static const char *const history[] = {"ShADadFf", "S", "Sr"};

static inline int64_t ip_bytes(const ev *e, int64_t bytes, uint32_t pkts)
{
    int64_t hdr = (e->proto == P_TCP ? 40 : 28) + (e->dst->ip.family == 6 ? 20 : 0);
    return (bytes > 0 ? bytes : 0) + (int64_t)pkts * hdr;
}

static char *put_uid(char *w, uint64_t uid)
{
    static const char b62[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t x = uid, y = splitmix64(&x);
    *w++ = 'C';
    for (int i = 0; i < 10; i++, uid >>= 6)
        *w++ = b62[(uid & 63) % 62];
    for (int i = 0; i < 7; i++, y >>= 6)
        *w++ = b62[(y & 63) % 62];
    return w;
}

static inline char *put_addr(char *w, const gaddr *a)
{
    return put_mem(w, a->txt, a->len);
}

static char *fmt_zeek(bw_gen *g, const ev *e, char *w)
{
    (void)g;
    w = put_secs(w, e->ts_us);
    *w++ = '\t';
    w = put_uid(w, e->uid);
    *w++ = '\t';
    w = put_addr(w, e->src);
    *w++ = '\t';
    w = put_u64(w, e->sport);
    *w++ = '\t';
    w = put_addr(w, e->dst);
    *w++ = '\t';
    w = put_u64(w, e->dport);
    w = e->proto == P_TCP ? PUTL(w, "\ttcp\t") : PUTL(w, "\tudp\t");
    w = put_str(w, zeek_svc[e->svc]);
    *w++ = '\t';
    if (e->dur_us < 0)
        *w++ = '-';
    else
        w = put_secs(w, e->dur_us);
    *w++ = '\t';
    if (e->obytes < 0) {
        w = PUTL(w, "-\t-");
    } else {
        w = put_u64(w, (uint64_t)e->obytes);
        *w++ = '\t';
        w = put_u64(w, (uint64_t)e->rbytes);
    }
    *w++ = '\t';
    w = put_str(w, state_name[e->state]);
    w = e->internal_dst ? PUTL(w, "\tT\tT\t0\t") : PUTL(w, "\tT\tF\t0\t");
    w = put_str(w, e->proto == P_TCP ? history[e->state] : "Dd");
    *w++ = '\t';
    w = put_u64(w, e->opkts);
    *w++ = '\t';
    w = put_i64(w, ip_bytes(e, e->obytes, e->opkts));
    *w++ = '\t';
    w = put_u64(w, e->rpkts);
    *w++ = '\t';
    w = put_i64(w, ip_bytes(e, e->rbytes, e->rpkts));
    w = PUTL(w, "\t(empty)\n");
    return w;
}

static char *fmt_zeek_json(bw_gen *g, const ev *e, char *w)
{
    (void)g;
    w = PUTL(w, "{\"ts\":");
    w = put_secs(w, e->ts_us);
    w = PUTL(w, ",\"uid\":\"");
    w = put_uid(w, e->uid);
    w = PUTL(w, "\",\"id.orig_h\":\"");
    w = put_addr(w, e->src);
    w = PUTL(w, "\",\"id.orig_p\":");
    w = put_u64(w, e->sport);
    w = PUTL(w, ",\"id.resp_h\":\"");
    w = put_addr(w, e->dst);
    w = PUTL(w, "\",\"id.resp_p\":");
    w = put_u64(w, e->dport);
    w = e->proto == P_TCP ? PUTL(w, ",\"proto\":\"tcp\"") : PUTL(w, ",\"proto\":\"udp\"");
    if (e->svc != SVC_NONE) {
        w = PUTL(w, ",\"service\":\"");
        w = put_str(w, zeek_svc[e->svc]);
        *w++ = '"';
    }
    if (e->dur_us >= 0) {
        w = PUTL(w, ",\"duration\":");
        w = put_secs(w, e->dur_us);
    }
    if (e->obytes >= 0) {
        w = PUTL(w, ",\"orig_bytes\":");
        w = put_u64(w, (uint64_t)e->obytes);
        w = PUTL(w, ",\"resp_bytes\":");
        w = put_u64(w, (uint64_t)e->rbytes);
    }
    w = PUTL(w, ",\"conn_state\":\"");
    w = put_str(w, state_name[e->state]);
    w = e->internal_dst ? PUTL(w, "\",\"local_orig\":true,\"local_resp\":true")
                        : PUTL(w, "\",\"local_orig\":true,\"local_resp\":false");
    w = PUTL(w, ",\"missed_bytes\":0,\"history\":\"");
    w = put_str(w, e->proto == P_TCP ? history[e->state] : "Dd");
    w = PUTL(w, "\",\"orig_pkts\":");
    w = put_u64(w, e->opkts);
    w = PUTL(w, ",\"orig_ip_bytes\":");
    w = put_i64(w, ip_bytes(e, e->obytes, e->opkts));
    w = PUTL(w, ",\"resp_pkts\":");
    w = put_u64(w, e->rpkts);
    w = PUTL(w, ",\"resp_ip_bytes\":");
    w = put_i64(w, ip_bytes(e, e->rbytes, e->rpkts));
    w = PUTL(w, "}\n");
    return w;
}

/* Stable per-host process id: hash of the name and the host number, so it
 * does not depend on where the strings live in memory. */
static uint32_t fake_pid(const char *name, uint32_t hidx)
{
    uint32_t hsh = 2166136261u;
    for (const char *c = name; *c; c++)
        hsh = (hsh ^ (uint8_t)*c) * 16777619u;
    hsh ^= hidx * 0x9E3779B1u;
    hsh ^= hsh >> 15;
    return 400 + (hsh % 30000) * 4;
}

static const char *const os_type[] = {"windows", "macos", "linux"};

static char *fmt_ecs(bw_gen *g, const ev *e, char *w)
{
    int attempt = e->state != ST_SF;
    w = PUTL(w, "{\"@timestamp\":\"");
    w = put_rfc(w, &g->tc[0], e->ts_us, 3);
    w = attempt ? PUTL(w, "Z\",\"event\":{\"kind\":\"event\",\"category\":[\"network\"],"
                          "\"type\":[\"start\"],\"action\":\"connection_attempted\",")
                : PUTL(w, "Z\",\"event\":{\"kind\":\"event\",\"category\":[\"network\"],"
                          "\"type\":[\"end\"],\"action\":\"disconnect_received\",");
    w = PUTL(w, "\"dataset\":\"endpoint.events.network\"},\"host\":{\"name\":\"");
    w = put_str(w, e->h->name);
    w = PUTL(w, "\",\"os\":{\"type\":\"");
    w = put_str(w, os_type[e->h->os]);
    w = PUTL(w, "\"}},\"process\":{\"pid\":");
    w = put_u64(w, fake_pid(e->proc, e->hidx));
    w = PUTL(w, ",\"name\":\"");
    w = put_str(w, e->proc);
    w = PUTL(w, "\"},\"source\":{\"ip\":\"");
    w = put_addr(w, e->src);
    w = PUTL(w, "\",\"port\":");
    w = put_u64(w, e->sport);
    if (e->obytes >= 0 && !attempt) {
        w = PUTL(w, ",\"bytes\":");
        w = put_u64(w, (uint64_t)e->obytes);
    }
    w = PUTL(w, "},\"destination\":{\"ip\":\"");
    w = put_addr(w, e->dst);
    w = PUTL(w, "\",\"port\":");
    w = put_u64(w, e->dport);
    if (e->rbytes >= 0 && !attempt) {
        w = PUTL(w, ",\"bytes\":");
        w = put_u64(w, (uint64_t)e->rbytes);
    }
    w = e->proto == P_TCP ? PUTL(w, "},\"network\":{\"transport\":\"tcp\",\"type\":\"")
                          : PUTL(w, "},\"network\":{\"transport\":\"udp\",\"type\":\"");
    w = e->dst->ip.family == 6 ? PUTL(w, "ipv6") : PUTL(w, "ipv4");
    w = e->internal_dst ? PUTL(w, "\",\"direction\":\"internal\"}}\n")
                        : PUTL(w, "\",\"direction\":\"egress\"}}\n");
    return w;
}

#define ASIM_HEADER                                                                     \
    "TimeGenerated,SrcIpAddr,SrcPortNumber,DstIpAddr,DstPortNumber,SrcBytes,DstBytes," \
    "NetworkProtocol,NetworkDuration,EventResult,EventSubType,SrcHostname,"           \
    "SrcProcessName,EventType,EventProduct,EventVendor,EventSchemaVersion\n"

static char *fmt_asim_csv(bw_gen *g, const ev *e, char *w)
{
    w = put_rfc(w, &g->tc[0], e->ts_us, 6);
    w = PUTL(w, "Z,");
    w = put_addr(w, e->src);
    *w++ = ',';
    w = put_u64(w, e->sport);
    *w++ = ',';
    w = put_addr(w, e->dst);
    *w++ = ',';
    w = put_u64(w, e->dport);
    *w++ = ',';
    if (e->obytes >= 0) {
        w = put_u64(w, (uint64_t)e->obytes);
        *w++ = ',';
        w = put_u64(w, (uint64_t)e->rbytes);
    } else {
        *w++ = ',';
    }
    w = e->proto == P_TCP ? PUTL(w, ",TCP,") : PUTL(w, ",UDP,");
    if (e->dur_us >= 0)
        w = put_u64(w, (uint64_t)(e->dur_us / 1000));
    w = e->state == ST_SF ? PUTL(w, ",Success,End,") : PUTL(w, ",Failure,End,");
    w = put_str(w, e->h->name);
    *w++ = ',';
    w = put_str(w, e->proc);
    w = PUTL(w, ",NetworkSession,M365 Defender for Endpoint,Microsoft,0.2.6\n");
    return w;
}

static char *fmt_asim_json(bw_gen *g, const ev *e, char *w)
{
    w = PUTL(w, "{\"TimeGenerated\":\"");
    w = put_rfc(w, &g->tc[0], e->ts_us, 6);
    w = PUTL(w, "Z\",\"SrcIpAddr\":\"");
    w = put_addr(w, e->src);
    w = PUTL(w, "\",\"SrcPortNumber\":");
    w = put_u64(w, e->sport);
    w = PUTL(w, ",\"DstIpAddr\":\"");
    w = put_addr(w, e->dst);
    w = PUTL(w, "\",\"DstPortNumber\":");
    w = put_u64(w, e->dport);
    if (e->obytes >= 0) {
        w = PUTL(w, ",\"SrcBytes\":");
        w = put_u64(w, (uint64_t)e->obytes);
        w = PUTL(w, ",\"DstBytes\":");
        w = put_u64(w, (uint64_t)e->rbytes);
    }
    w = e->proto == P_TCP ? PUTL(w, ",\"NetworkProtocol\":\"TCP\"")
                          : PUTL(w, ",\"NetworkProtocol\":\"UDP\"");
    if (e->dur_us >= 0) {
        w = PUTL(w, ",\"NetworkDuration\":");
        w = put_u64(w, (uint64_t)(e->dur_us / 1000));
    }
    w = e->state == ST_SF ? PUTL(w, ",\"EventResult\":\"Success\"")
                          : PUTL(w, ",\"EventResult\":\"Failure\"");
    w = PUTL(w, ",\"EventSubType\":\"End\",\"SrcHostname\":\"");
    w = put_str(w, e->h->name);
    w = PUTL(w, "\",\"SrcProcessName\":\"");
    w = put_str(w, e->proc);
    w = PUTL(w, "\",\"EventType\":\"NetworkSession\",\"EventProduct\":"
                "\"M365 Defender for Endpoint\",\"EventVendor\":\"Microsoft\","
                "\"EventSchemaVersion\":\"0.2.6\"}\n");
    return w;
}

static char *fmt_eve(bw_gen *g, const ev *e, char *w)
{
    int64_t end = e->ts_us + (e->dur_us > 0 ? e->dur_us : 0);
    w = PUTL(w, "{\"timestamp\":\"");
    w = put_rfc(w, &g->tc[1], end, 6);
    w = PUTL(w, "+0000\",\"flow_id\":");
    w = put_u64(w, e->uid >> 13);
    w = PUTL(w, ",\"in_iface\":\"eth0\",\"event_type\":\"flow\",\"src_ip\":\"");
    w = put_addr(w, e->src);
    w = PUTL(w, "\",\"src_port\":");
    w = put_u64(w, e->sport);
    w = PUTL(w, ",\"dest_ip\":\"");
    w = put_addr(w, e->dst);
    w = PUTL(w, "\",\"dest_port\":");
    w = put_u64(w, e->dport);
    w = e->proto == P_TCP ? PUTL(w, ",\"proto\":\"TCP\"") : PUTL(w, ",\"proto\":\"UDP\"");
    if (e->state == ST_SF && eve_svc[e->svc]) {
        w = PUTL(w, ",\"app_proto\":\"");
        w = put_str(w, eve_svc[e->svc]);
        *w++ = '"';
    }
    w = PUTL(w, ",\"flow\":{\"pkts_toserver\":");
    w = put_u64(w, e->opkts);
    w = PUTL(w, ",\"pkts_toclient\":");
    w = put_u64(w, e->rpkts);
    w = PUTL(w, ",\"bytes_toserver\":");
    w = put_i64(w, ip_bytes(e, e->obytes, e->opkts));
    w = PUTL(w, ",\"bytes_toclient\":");
    w = put_i64(w, ip_bytes(e, e->rbytes, e->rpkts));
    w = PUTL(w, ",\"start\":\"");
    w = put_rfc(w, &g->tc[0], e->ts_us, 6);
    w = PUTL(w, "+0000\",\"end\":\"");
    w = put_rfc(w, &g->tc[1], end, 6);
    w = PUTL(w, "+0000\",\"age\":");
    w = put_i64(w, floordiv(end, 1000000) - floordiv(e->ts_us, 1000000));
    w = e->state == ST_SF    ? PUTL(w, ",\"state\":\"closed\"")
        : e->state == ST_S0 ? PUTL(w, ",\"state\":\"new\"")
                            : PUTL(w, ",\"state\":\"closed\"");
    w = PUTL(w, ",\"reason\":\"timeout\",\"alerted\":false}}\n");
    return w;
}

/* "YYYY-MM-DD-HH-MM-SS" as in Zeek's #open and #close lines. */
static char *put_zeek_date(char *w, tcache *c, int64_t us)
{
    tcache_fill(c, floordiv(us, 1000000));
    memcpy(w, c->txt, 19);
    w[10] = '-';
    w[13] = '-';
    w[16] = '-';
    return w + 19;
}

/* ------------------------------------------------------------ public */

void bw_gen_opts_init(bw_gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->records = 1000000;
    o->start_us = 1767225600LL * 1000000; /* 2026-01-01T00:00:00Z */
    o->duration_us = 24LL * 3600 * 1000000;
    o->hosts = 200;
    o->beacons = -1;
    o->format = BW_FMT_ZEEK;
}

void bw_gen_free(bw_gen *g)
{
    if (!g)
        return;
    free(g->hosts);
    free(g->dests);
    free(g->zipf_cdf);
    free(g->ps);
    free(g->labels);
    free(g->lext);
    free(g->c2s);
    free(g->heap);
    free(g->next_us);
    free(g->names);
    free(g);
}

int bw_gen_opts_check(const bw_gen_opts *o, bw_errbuf *eb)
{
    if (!o)
        return bw_errf(eb, BW_ERR_USAGE, "no options");
    if (o->hosts < 1 || o->hosts > BW_GEN_MAX_HOSTS)
        return bw_errf(eb, BW_ERR_USAGE, "hosts must be 1 .. %d", BW_GEN_MAX_HOSTS);
    if (o->duration_us < 1000000 || o->duration_us > BW_GEN_MAX_DURATION_US)
        return bw_errf(eb, BW_ERR_USAGE, "duration must be 1 s .. 366 days");
    if (o->beacons < -1 || o->beacons > BW_GEN_MAX_BEACONS)
        return bw_errf(eb, BW_ERR_USAGE, "beacons must be 0 .. %d", BW_GEN_MAX_BEACONS);
    if (o->evasions > BW_GEN_MAX_BEACONS)
        return bw_errf(eb, BW_ERR_USAGE, "evasions must be 0 .. %d", BW_GEN_MAX_BEACONS);
    if (o->nat_hosts == 1 || o->nat_hosts > o->hosts)
        return bw_errf(eb, BW_ERR_USAGE, "NAT hosts must be 0 or 2 .. hosts (%u)", o->hosts);
    if (o->format <= BW_FMT_AUTO || o->format >= BW_FMT__COUNT)
        return bw_errf(eb, BW_ERR_USAGE, "no output format given");
    /* keep every time printable as RFC 3339 (years up to 9999) */
    if (o->start_us < 0 || o->start_us > 253339228800LL * 1000000)
        return bw_errf(eb, BW_ERR_USAGE, "start time must be 1970-01-01 .. 9998-01-01");
    return BW_OK;
}

bw_gen *bw_gen_new(const bw_gen_opts *opts, bw_errbuf *eb)
{
    bw_gen *g = NULL;
    const bw_gen_opts *o = opts;
    if (bw_gen_opts_check(o, eb) != BW_OK)
        return NULL;
    int nbeacons = o->beacons >= 0 ? o->beacons : (int)(3 + o->hosts / 100);
    if (o->beacons < 0 && nbeacons > 16)
        nbeacons = 16;

    g = calloc(1, sizeof *g);
    if (!g)
        goto nomem;
    g->o = *o;
    rng_seed(&g->r, o->seed);
    g->end_us = o->start_us + o->duration_us;
    g->nhosts = o->hosts;
    g->ndests = 2000 + 40 * o->hosts;
    if (g->ndests > 200000)
        g->ndests = 200000;
    size_t allb = (size_t)nbeacons + o->evasions + (o->nat_hosts ? 3 : 0);
    size_t maxps = (size_t)g->nhosts * NELEM(periodic_defs) + allb;
    size_t maxlabels = (size_t)g->nhosts * NELEM(periodic_defs) + 3 * allb;
    g->names_cap = 64 * (allb + 1);
    g->hosts = calloc(g->nhosts, sizeof *g->hosts);
    g->dests = calloc(g->ndests, sizeof *g->dests);
    g->zipf_cdf = calloc(g->ndests, sizeof *g->zipf_cdf);
    g->ps = calloc(maxps, sizeof *g->ps);
    g->labels = calloc(maxlabels, sizeof *g->labels);
    g->lext = calloc(maxlabels, sizeof *g->lext);
    g->c2s = calloc(3 * allb + 1, sizeof *g->c2s);
    g->names = malloc(g->names_cap);
    if (!g->hosts || !g->dests || !g->zipf_cdf || !g->ps || !g->labels || !g->lext ||
        !g->c2s || !g->names)
        goto nomem;

    setup_hosts(g);
    setup_nat(g);
    setup_dests(g);
    int id = 1;
    double expected = setup_beacons(g, nbeacons, &id);
    expected += setup_extra_beacons(g, &id);
    expected += setup_benign(g, &id);

    /* mean diurnal weight over the run, to keep the span near the target */
    double wsum = 0;
    long steps = 0;
    int64_t step = o->duration_us / 100000 > 60000000 ? o->duration_us / 100000 : 60000000;
    for (int64_t t = o->start_us; t < g->end_us; t += step, steps++)
        wsum += weight_at(t);
    g->wnorm = steps && wsum > 0 ? (double)steps / wsum : 1.0;

    /* browsing takes the records the periodic flows leave, at least a fifth */
    double dur_s = (double)o->duration_us / 1e6;
    double total = (double)o->records / dur_s, per = expected / dur_s;
    double brate = total - per > 0.2 * total ? total - per : 0.2 * total;
    double web_share = 0.8; /* browsing that goes to the Zipf pool */
    brate /= 1.0 + P_DNS * (1.0 - P_INTERNAL) * web_share;
    for (uint32_t i = 0; i < g->nhosts; i++)
        g->hosts[i].rate *= brate;

    g->nsrc = g->nhosts + g->nps;
    g->heap = malloc(g->nsrc * sizeof *g->heap);
    g->next_us = malloc(g->nsrc * sizeof *g->next_us);
    if (!g->heap || !g->next_us)
        goto nomem;
    for (uint32_t i = 0; i < g->nsrc; i++) {
        g->heap[i] = i;
        if (i < g->nhosts)
            g->next_us[i] = browse_next(g, &g->hosts[i], o->start_us, 1);
        else
            g->next_us[i] = g->ps[i - g->nhosts].beat_us;
    }
    for (uint32_t i = g->nsrc / 2; i-- > 0;)
        sift_down(g, i);
    g->tc[0].sec = g->tc[1].sec = INT64_MIN;
    return g;

nomem:
    bw_gen_free(g);
    bw_errf(eb, BW_ERR_NOMEM, "out of memory building the generator");
    return NULL;
}

static void ev_to_record(const ev *e, bw_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->ts_us = e->ts_us;
    rec->duration_us = e->dur_us >= 0 ? e->dur_us : BW_UNSET;
    rec->src_bytes = e->obytes >= 0 ? e->obytes : BW_UNSET;
    rec->dst_bytes = e->rbytes >= 0 ? e->rbytes : BW_UNSET;
    rec->src_ip = e->src->ip;
    rec->dst_ip = e->dst->ip;
    rec->src_port = e->sport;
    rec->dst_port = e->dport;
    rec->flags = BW_REC_CAT_NETWORK;
    rec->transport.p = e->proto == P_TCP ? "tcp" : "udp";
    rec->transport.n = 3;
    rec->host_name.p = e->h->name;
    rec->host_name.n = strlen(e->h->name);
    rec->process_name.p = e->proc;
    rec->process_name.n = strlen(e->proc);
    if (e->domain) {
        rec->dst_domain.p = e->domain;
        rec->dst_domain.n = strlen(e->domain);
    }
    rec->event_action.p = e->state == ST_SF ? "disconnect_received" : "connection_attempted";
    rec->event_action.n = strlen(rec->event_action.p);
    rec->event_category.p = "network";
    rec->event_category.n = 7;
    rec->conn_state.p = state_name[e->state];
    rec->conn_state.n = strlen(state_name[e->state]);
}

int bw_gen_next(bw_gen *g, bw_record *rec)
{
    ev e;
    if (!gen_step(g, &e))
        return 0;
    ev_to_record(&e, rec);
    return 1;
}

uint64_t bw_gen_count(const bw_gen *g)
{
    return g->count;
}

int bw_gen_write(bw_gen *g, FILE *out, bw_errbuf *eb)
{
    int rc = BW_OK;
    obuf b = {.p = malloc(OB_CAP), .n = 0, .f = out, .err = 0};
    char *(*fmt)(bw_gen *, const ev *, char *);
    tcache dc;
    ev e;
    if (!b.p)
        return bw_errf(eb, BW_ERR_NOMEM, "out of memory for the output buffer");
    switch (g->o.format) {
    case BW_FMT_ZEEK:
        fmt = fmt_zeek;
        break;
    case BW_FMT_ZEEK_JSON:
        fmt = fmt_zeek_json;
        break;
    case BW_FMT_ECS:
        fmt = fmt_ecs;
        break;
    case BW_FMT_ASIM_CSV:
        fmt = fmt_asim_csv;
        break;
    case BW_FMT_ASIM_JSON:
        fmt = fmt_asim_json;
        break;
    default:
        fmt = fmt_eve;
        break;
    }
    char *w = b.p;
    if (g->o.format == BW_FMT_ZEEK) {
        w = PUTL(w, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
                    "#unset_field\t-\n#path\tconn\n#open\t");
        w = put_zeek_date(w, &dc, g->o.start_us);
        w = PUTL(w, "\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto"
                    "\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig"
                    "\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes"
                    "\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n"
                    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval"
                    "\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount"
                    "\tcount\tcount\tset[string]\n");
    } else if (g->o.format == BW_FMT_ASIM_CSV) {
        w = PUTL(w, ASIM_HEADER);
    }
    ob_commit(&b, w);
    int64_t last = g->o.start_us;
    while (!b.err && gen_step(g, &e)) {
        ob_commit(&b, fmt(g, &e, b.p + b.n));
        last = e.ts_us;
    }
    if (g->o.format == BW_FMT_ZEEK && !b.err) {
        w = PUTL(b.p + b.n, "#close\t");
        w = put_zeek_date(w, &dc, last);
        *w++ = '\n';
        ob_commit(&b, w);
    }
    ob_flush(&b);
    if (!b.err && fflush(out) != 0)
        b.err = errno ? errno : EIO;
    if (b.err)
        rc = bw_errf(eb, BW_ERR_IO, "writing records: %s", strerror(b.err));
    free(b.p);
    return rc;
}

size_t bw_gen_nlabels(const bw_gen *g)
{
    return g->nlabels;
}

const bw_gen_label *bw_gen_label_at(const bw_gen *g, size_t i)
{
    return i < g->nlabels ? &g->labels[i] : NULL;
}

int bw_gen_write_labels(const bw_gen *g, FILE *out, bw_errbuf *eb)
{
    tcache c;
    char t1[32], t2[32], t3[32];
    c.sec = INT64_MIN;
    fputs("kind,src,host,process,dst,dport,period_s,jitter,model,transport,missed,retry,id,"
          "records,first_ts,last_ts,class,period2_s,change_ts\n",
          out);
    for (size_t i = 0; i < g->nlabels; i++) {
        const bw_gen_label *l = &g->labels[i];
        t1[0] = t2[0] = t3[0] = 0;
        if (l->records) {
            char *w = put_rfc(t1, &c, l->first_us, 6);
            *w++ = 'Z';
            *w = 0;
            w = put_rfc(t2, &c, l->last_us, 6);
            *w++ = 'Z';
            *w = 0;
        }
        if (l->change_us != BW_UNSET) {
            char *w = put_rfc(t3, &c, l->change_us, 6);
            *w++ = 'Z';
            *w = 0;
        }
        fprintf(out, "%s,%s,%s,%s,%s,%d,%g,%g,%s,%s,%g,%g,%d,%llu,%s,%s,%s,%g,%s\n", l->kind,
                l->src, l->host, l->process, l->dst, l->dport, l->period_s, l->jitter, l->model,
                l->transport, l->missed, l->retry, l->id, (unsigned long long)l->records, t1,
                t2, l->cls, l->period2_s, t3);
    }
    if (fflush(out) != 0 || ferror(out))
        return bw_errf(eb, BW_ERR_IO, "writing labels: %s", strerror(errno ? errno : EIO));
    return BW_OK;
}
