/* The rules' built-in name and range lists (copies of config/lists/<name>.txt,
 * which users edit; the config loader feeds the edited text to the
 * *_parse functions below) and the name-set / CIDR-list matchers. */
#include "rule_lists.h"
#include "util_bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Elastic's transform, package beaconing 1.x: must_not process names. */
static const char *const elastic_excluded[] = {
    "Acrobat.exe", "AcroCEF.exe", "AcroCEF Helper", "AddressBookSourceSync",
    "Adobe_CCXProcess.node", "Adobe CEF Helper", "Adobe CEF Helper.exe", "AdobeCollabSync.exe",
    "Adobe Desktop Service", "Adobe Desktop Service.exe", "accountsd", "akd", "appstoreagent",
    "apsd", "atmgr.exe", "assistantd", "backgroundTaskHost.exe", "BackgroundTransferHost.exe",
    "Brave Browser Helper", "CalendarAgent", "Camtasia 2020", "CCXProcess", "chrome.exe",
    "cloudd", "Code.exe", "Code Helper", "Code Helper (Renderer)", "CompatTelRunner.exe",
    "com.apple.geod", "com.apple.ncplugin.stocks", "com.apple.Safari.SafeBrowsing.Service",
    "com.apple.WebKit.Networking", "com.docker.vpnkit", "commerce", "Core Sync", "CoreSync.exe",
    "default-browser-agent.exe", "DeliveryService.exe", "DeviceCensus.exe", "Docker", "Dropbox",
    "Dsapi.exe", "elastic-agent", "elastic-agent.exe", "elastic-endpoint", "esensor",
    "EXCEL.EXE", "explorer.exe", "familycircled", "filebeat", "filebeat.exe", "FileCoAuth.exe",
    "firefox", "firefox.exe", "GitHub Desktop Helper", "Google Chrome Helper",
    "google_osconfig_agent", "google_osconfig_agent.exe", "google_guest_agent",
    "GCEWindowsAgent.exe", "Google Drive", "GoogleDriveFS.exe", "GoogleUpdate.exe",
    "IMRemoteURLConnectionAgent", "jamf", "keybase", "ksfetch",
    "Lenovo.Modern.ImController.PluginHost.CompanionApp.exe", "LenovoVantageService.exe",
    "locationd", "mapspushd", "mcautoreg.exe", "metricbeat", "mdmclient", "Mail",
    "MMSSHOST.exe", "Microsoft Excel", "Microsoft.Management.Services.IntuneWindowsAgent.exe",
    "Microsoft.SharePoint.exe", "Microsoft OneNote", "Microsoft PowerPoint",
    "Microsoft Teams Helper", "Microsoft Teams Helper (Renderer)", "Microsoft Update Assistant",
    "Microsoft Word", "ModuleCoreService.exe", "msedge.exe", "node", "node.exe",
    "nsurlsessiond", "OfficeC2RClient.exe", "ONENOTE.EXE", "officesvcmgr.exe",
    "OfficeClickToRun.exe", "OneDrive.exe", "parsec-fbf", "parsecd", "pingsender.exe",
    "SDXHelper.exe", "SearchApp.exe", "ServiceLayer.exe", "Skype for Business", "Slack.exe",
    "Slack Helper", "snapd", "smartscreen.exe", "softwareupdated", "Spotify.exe",
    "Spotify Helper", "ssm-agent-worker.exe", "ssm-document-worker.exe", "svchost.exe",
    "syspolicyd", "SystemIdleCheck.exe", "taskhostw.exe", "Teams", "Teams.exe", "trustd",
    "updater", "WINWORD.EXE", "WhatsApp Helper", "xpcproxy", "Zoom.exe", "zoom.us",
    "ZoomPresence",
};

/* Condition (b): processes watched from any source address. */
static const char *const elastic_special[] = {
    "lsass.exe", "Microsoft Outlook", "omadmclient.exe", "OUTLOOK.EXE", "SettingSyncHost.exe",
    "SIHClient.exe", "POWERPNT.EXE", "svchost.exe", "uhssvc.exe",
};

/* Condition (b) ignores destinations in these Microsoft ranges. */
static const char *const elastic_microsoft[] = {
    "13.64.0.0/11", "13.104.0.0/14", "13.96.0.0/13", "18.209.113.128/26", "20.33.0.0/16",
    "20.34.0.0/15", "20.36.0.0/14", "20.40.0.0/13", "20.48.0.0/12", "20.64.0.0/10",
    "20.128.0.0/16", "20.180.0.0/14", "20.184.0.0/13", "23.64.0.0/14", "23.32.0.0/11",
    "40.74.0.0/15", "40.76.0.0/14", "40.80.0.0/12", "40.96.0.0/12", "40.112.0.0/13",
    "40.120.0.0/14", "40.124.0.0/16", "40.126.0.0/18", "40.125.0.0/17", "52.132.0.0/14",
    "52.136.0.0/13", "52.148.0.0/14", "52.145.0.0/16", "52.146.0.0/15", "52.160.0.0/11",
    "52.152.0.0/13", "52.224.0.0/11",
};

/* Destinations the transform never counts (private, reserved, multicast). */
static const char *const elastic_reserved[] = {
    "10.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "127.0.0.0/8", "192.0.0.0/24",
    "192.0.0.0/29", "192.0.0.8/32", "192.0.0.9/32", "192.0.0.10/32", "192.0.0.170/32",
    "192.0.0.171/32", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.168.0.0/16",
    "192.88.99.0/24", "224.0.0.0/4", "100.64.0.0/10", "192.175.48.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "::1/128", "fe80::/10", "ff00::/8",
};

/* The alert "Statistical Model Detected C2 Beaconing Activity" skips these. */
static const char *const elastic_alert_excluded[] = {
    "WaAppAgent.exe", "metricbeat.exe", "packetbeat.exe", "WindowsAzureGuestAgent.exe",
    "HealthService.exe", "Widgets.exe", "lsass.exe", "msedgewebview2.exe", "MsMpEng.exe",
    "OUTLOOK.EXE", "msteams.exe", "FileSyncHelper.exe", "SearchProtocolHost.exe",
    "Creative Cloud.exe", "ms-teams.exe", "ms-teamsupdate.exe", "curl.exe", "rundll32.exe",
    "MsSense.exe", "wermgr.exe", "java", "olk.exe", "iexplore.exe", "NetworkManager",
    "packetbeat", "Ssms.exe", "NisSrv.exe", "gamingservices.exe", "appidcertstorecheck.exe",
    "POWERPNT.EXE", "miiserver.exe", "Grammarly.Desktop.exe", "SnagitEditor.exe",
    "CRWindowsClientService.exe", "agentbeat", "dnf", "yum", "apt",
};

/* The private side of condition (a): RFC 1918. */
static const char *const rfc1918[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"};

static const struct {
    const char *name;
    const char *const *entries;
    size_t n;
} lists[BW_LIST__COUNT] = {
    [BW_LIST_ELASTIC_EXCLUDED] = {"elastic-excluded-processes", elastic_excluded,
                                  NELEM(elastic_excluded)},
    [BW_LIST_ELASTIC_SPECIAL] = {"elastic-special-processes", elastic_special,
                                 NELEM(elastic_special)},
    [BW_LIST_ELASTIC_MICROSOFT] = {"elastic-microsoft-ranges", elastic_microsoft,
                                   NELEM(elastic_microsoft)},
    [BW_LIST_ELASTIC_RESERVED] = {"elastic-reserved-ranges", elastic_reserved,
                                  NELEM(elastic_reserved)},
    [BW_LIST_ELASTIC_ALERT_EXCLUDED] = {"elastic-alert-excluded-processes",
                                        elastic_alert_excluded,
                                        NELEM(elastic_alert_excluded)},
    [BW_LIST_RFC1918] = {"rfc1918", rfc1918, NELEM(rfc1918)},
};

const char *bw_list_name(bw_list_id id)
{
    if ((int)id < 0 || id >= BW_LIST__COUNT)
        return NULL;
    return lists[id].name;
}

const char *const *bw_list_entries(bw_list_id id, size_t *n)
{
    if ((int)id < 0 || id >= BW_LIST__COUNT) {
        *n = 0;
        return NULL;
    }
    *n = lists[id].n;
    return lists[id].entries;
}

/* ---- name set ---- */

struct bw_name_set {
    bw_str *v; /* sorted by (bytes, length); each p is a malloc'ed copy */
    size_t n, cap;
};

bw_name_set *bw_name_set_new(void)
{
    return calloc(1, sizeof(bw_name_set));
}

void bw_name_set_free(bw_name_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free((void *)s->v[i].p);
    free(s->v);
    free(s);
}

static int cmp_name(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* Index of the first entry >= (p, n). */
static size_t lower_bound(const bw_name_set *s, const char *p, size_t n)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_name(s->v[mid].p, s->v[mid].n, p, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int bw_name_set_add(bw_name_set *s, const char *p, size_t n)
{
    size_t at = lower_bound(s, p, n);
    if (at < s->n && cmp_name(s->v[at].p, s->v[at].n, p, n) == 0)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        bw_str *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return BW_ERR_NOMEM;
        s->v = v;
        s->cap = cap;
    }
    char *copy = malloc(n + 1);
    if (!copy)
        return BW_ERR_NOMEM;
    if (n)
        memcpy(copy, p, n);
    copy[n] = '\0';
    memmove(s->v + at + 1, s->v + at, (s->n - at) * sizeof *s->v);
    s->v[at].p = copy;
    s->v[at].n = n;
    s->n++;
    return 0;
}

bw_name_set *bw_name_set_dup(const bw_name_set *s)
{
    bw_name_set *d = bw_name_set_new();
    if (!d)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        if (bw_name_set_add(d, s->v[i].p, s->v[i].n)) {
            bw_name_set_free(d);
            return NULL;
        }
    }
    return d;
}

int bw_name_set_add_list(bw_name_set *s, bw_list_id id)
{
    size_t n;
    const char *const *e = bw_list_entries(id, &n);
    for (size_t i = 0; i < n; i++) {
        int err = bw_name_set_add(s, e[i], strlen(e[i]));
        if (err)
            return err;
    }
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int bw_name_set_parse(bw_name_set *s, const char *text, size_t n, const char *origin,
                      bw_errbuf *eb)
{
    size_t i = 0, line = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && text[end] != '\n')
            end++;
        line++;
        size_t b = i, e = end;
        while (b < e && is_blank(text[b]))
            b++;
        while (e > b && is_blank(text[e - 1]))
            e--;
        if (e > b && text[b] != '#') {
            if (memchr(text + b, '\0', e - b))
                return bw_errf(eb, BW_ERR_CONFIG, "%s:%zu: NUL byte in a name",
                               origin ? origin : "list", line);
            int err = bw_name_set_add(s, text + b, e - b);
            if (err)
                return bw_errf(eb, err, "%s: out of memory", origin ? origin : "list");
        }
        i = end + 1;
    }
    return 0;
}

int bw_name_set_has(const bw_name_set *s, const char *p, size_t n)
{
    if (!s || !s->n)
        return 0;
    size_t at = lower_bound(s, p, n);
    return at < s->n && cmp_name(s->v[at].p, s->v[at].n, p, n) == 0;
}

size_t bw_name_set_count(const bw_name_set *s)
{
    return s ? s->n : 0;
}

/* ---- CIDR list ---- */

/* Each entry also as two masked 64-bit words of the 16-byte form, for
 * bw_cidr_list_contains (per record: the internal / reserved checks). */
typedef struct cidr_words {
    uint64_t v0, v1, m0, m1;
    int family;
} cidr_words;

/* Besides the entries (v, and w in the same order), an index for
 * contains(): the IPv4 /16 blocks that an entry of 16 bits or fewer
 * covers whole (a bit each, 8 KiB), and the indexes into w of the other
 * entries by family, so that an IPv4 address costs one bit test and a
 * scan of the longer IPv4 prefixes only (the default internal list has
 * one: 255.255.255.255/32), and that scan only when its /16 holds one
 * (part16, the same 8 KiB layout). Rebuilt whenever entries are dropped. */
struct bw_cidr_list {
    bw_cidr *v;
    cidr_words *w;
    size_t n, cap;
    uint64_t map16[65536 / 64];
    uint64_t part16[65536 / 64];
    uint32_t *rest4, *rest6; /* indexes into w */
    size_t nrest4, nrest6;
};

bw_cidr_list *bw_cidr_list_new(void)
{
    return calloc(1, sizeof(bw_cidr_list));
}

void bw_cidr_list_free(bw_cidr_list *l)
{
    if (!l)
        return;
    free(l->v);
    free(l->w);
    free(l->rest4);
    free(l->rest6);
    free(l);
}

/* Adds entry i (already in v and w) to the index. rest4 and rest6 have
 * room for cap entries. */
static void index_entry(bw_cidr_list *l, size_t i)
{
    const bw_cidr *c = &l->v[i];
    if (c->net.family == 4 && c->bits <= 16) {
        unsigned first = (unsigned)c->net.a[12] << 8 | c->net.a[13];
        unsigned count = 1u << (16 - (c->bits < 0 ? 0 : c->bits));
        first &= ~(count - 1);
        for (unsigned b = first; b < first + count; b++)
            l->map16[b / 64] |= 1ULL << (b % 64);
    } else if (c->net.family == 4) {
        unsigned b = (unsigned)c->net.a[12] << 8 | c->net.a[13];
        l->part16[b / 64] |= 1ULL << (b % 64);
        l->rest4[l->nrest4++] = (uint32_t)i;
    } else {
        l->rest6[l->nrest6++] = (uint32_t)i;
    }
}

static void reindex(bw_cidr_list *l)
{
    memset(l->map16, 0, sizeof l->map16);
    memset(l->part16, 0, sizeof l->part16);
    l->nrest4 = l->nrest6 = 0;
    for (size_t i = 0; i < l->n; i++)
        index_entry(l, i);
}

void bw_cidr_list_clear(bw_cidr_list *l)
{
    l->n = 0;
    reindex(l);
}

int bw_cidr_list_add(bw_cidr_list *l, const bw_cidr *c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        bw_cidr *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return BW_ERR_NOMEM;
        l->v = v;
        cidr_words *w = realloc(l->w, cap * sizeof *w);
        if (!w)
            return BW_ERR_NOMEM;
        l->w = w;
        uint32_t *r4 = realloc(l->rest4, cap * sizeof *r4);
        if (!r4)
            return BW_ERR_NOMEM;
        l->rest4 = r4;
        uint32_t *r6 = realloc(l->rest6, cap * sizeof *r6);
        if (!r6)
            return BW_ERR_NOMEM;
        l->rest6 = r6;
        l->cap = cap;
    }
    int bits = c->bits + (c->net.family == 4 ? 96 : 0);
    cidr_words *w = &l->w[l->n];
    w->m0 = bits >= 64 ? ~0ULL : bits <= 0 ? 0 : ~0ULL << (64 - bits);
    w->m1 = bits >= 128 ? ~0ULL : bits <= 64 ? 0 : ~0ULL << (128 - bits);
    w->v0 = bw_be64(c->net.a) & w->m0;
    w->v1 = bw_be64(c->net.a + 8) & w->m1;
    w->family = c->net.family;
    l->v[l->n++] = *c;
    index_entry(l, l->n - 1);
    return 0;
}

bw_cidr_list *bw_cidr_list_dup(const bw_cidr_list *l)
{
    bw_cidr_list *d = bw_cidr_list_new();
    if (!d)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        if (bw_cidr_list_add(d, &l->v[i])) {
            bw_cidr_list_free(d);
            return NULL;
        }
    }
    return d;
}

/* One entry: "a.b.c.d/len", "v6::/len" or a bare address. */
static int parse_entry(const char *p, size_t n, bw_cidr *out)
{
    if (memchr(p, '/', n))
        return bw_cidr_parse(p, n, out);
    bw_ip ip;
    if (bw_ip_parse(p, n, &ip) != 0)
        return -1;
    out->net = ip;
    out->bits = ip.family == 4 ? 32 : 128;
    return 0;
}

int bw_cidr_list_add_list(bw_cidr_list *l, bw_list_id id)
{
    size_t n;
    const char *const *e = bw_list_entries(id, &n);
    for (size_t i = 0; i < n; i++) {
        bw_cidr c;
        /* The built-in lists are ours; a bad entry is a bug. */
        if (parse_entry(e[i], strlen(e[i]), &c) != 0)
            return BW_ERR_CONFIG;
        int err = bw_cidr_list_add(l, &c);
        if (err)
            return err;
    }
    return 0;
}

int bw_cidr_list_parse(bw_cidr_list *l, const char *text, size_t n, const char *origin,
                       bw_errbuf *eb)
{
    size_t keep = l->n, i = 0, line = 1;
    int err = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && text[end] != '\n' && text[end] != ',' && text[end] != '#')
            end++;
        size_t b = i, e = end;
        while (b < e && is_blank(text[b]))
            b++;
        while (e > b && is_blank(text[e - 1]))
            e--;
        if (e > b) {
            bw_cidr c;
            if (parse_entry(text + b, e - b, &c) != 0) {
                err = bw_errf(eb, BW_ERR_CONFIG, "%s:%zu: '%.*s' is not an address or "
                              "prefix (expected e.g. 10.0.0.0/8 or fe80::/10)",
                              origin ? origin : "list", line, (int)(e - b > 64 ? 64 : e - b),
                              text + b);
                goto out;
            }
            if ((err = bw_cidr_list_add(l, &c)) != 0) {
                bw_errf(eb, err, "%s: out of memory", origin ? origin : "list");
                goto out;
            }
        }
        if (end < n && text[end] == '#')
            while (end < n && text[end] != '\n')
                end++;
        if (end < n && text[end] == '\n')
            line++;
        i = end + 1;
    }
out:
    if (err) {
        l->n = keep;
        reindex(l);
    }
    return err;
}

int bw_cidr_list_contains(const bw_cidr_list *l, const bw_ip *ip)
{
    if (!l || !ip->family)
        return 0;
    const uint32_t *rest = l->rest6;
    size_t nrest = l->nrest6;
    if (ip->family == 4) {
        unsigned b = (unsigned)ip->a[12] << 8 | ip->a[13];
        if (l->map16[b / 64] >> (b % 64) & 1)
            return 1;
        if (!(l->part16[b / 64] >> (b % 64) & 1))
            return 0;
        rest = l->rest4;
        nrest = l->nrest4;
    }
    uint64_t x0 = bw_be64(ip->a), x1 = bw_be64(ip->a + 8);
    for (size_t i = 0; i < nrest; i++) {
        const cidr_words *w = &l->w[rest[i]];
        if (((x0 & w->m0) == w->v0) && ((x1 & w->m1) == w->v1))
            return 1;
    }
    return 0;
}

size_t bw_cidr_list_count(const bw_cidr_list *l)
{
    return l ? l->n : 0;
}

size_t bw_cidr_list_format(const bw_cidr_list *l, char *buf, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < l->n; i++) {
        char ip[BW_IP_STRLEN];
        bw_ip_format(&l->v[i].net, ip);
        int k = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, "%s%s/%d",
                         i ? "," : "", ip, l->v[i].bits);
        if (k > 0)
            len += (size_t)k;
    }
    if (cap && len >= cap)
        buf[cap - 1] = '\0';
    else if (cap && !l->n)
        buf[0] = '\0';
    return len;
}
