/* Helpers shared by the subcommands: error printing, argument parsing,
 * the ingest summary on stderr, JSON string output. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_err(const char *fmt, ...)
{
    va_list ap;
    fputs("beaconwatch: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse_time(const char *s, int64_t *us)
{
    return bw_time_parse(s, strlen(s), us);
}

int cli_parse_count(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!*s || *s == '-')
        return -1;
    v = strtoull(s, &end, 10);
    if (end == s)
        return -1;
    switch (*end) {
    case 'k': case 'K': v *= 1000ULL; end++; break;
    case 'm': case 'M': v *= 1000000ULL; end++; break;
    case 'g': case 'G': v *= 1000000000ULL; end++; break;
    default: break;
    }
    if (*end)
        return -1;
    *out = v;
    return 0;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cli_exit_code(int err)
{
    if (err == BW_OK || err == BW_ERR_STOPPED)
        return BW_EXIT_OK;
    if (err == BW_ERR_USAGE || err == BW_ERR_CONFIG)
        return BW_EXIT_USAGE;
    return BW_EXIT_FAIL;
}

static uint64_t malformed(const bw_file_stats *s)
{
    uint64_t n = 0;
    for (int k = 0; k < BW_SKIP__MALFORMED_END; k++)
        n += s->skipped[k];
    return n;
}

void cli_report_ingest(const bw_ingest *in, int quiet, double seconds)
{
    bw_file_stats tot;
    int nfiles = bw_ingest_nfiles(in), shown = 0, nskipfiles = 0;
    if (quiet)
        return;
    for (int i = 0; i < nfiles; i++) {
        const bw_file_stats *s = bw_ingest_file(in, i);
        uint64_t bad = malformed(s);
        if (s->note[0] && strncmp(s->note, "skipped:", 8) == 0 && !s->error) {
            nskipfiles++;
            continue; /* directory walk: listed in the total below */
        }
        if (!bad && !s->note[0] && !s->skipped[BW_SKIP_NOT_SESSION])
            continue;
        fprintf(stderr, "%s: %s%s%llu records", s->path, s->note, s->note[0] ? "; " : "",
                (unsigned long long)s->records);
        for (int k = 0; k < BW_SKIP__COUNT; k++)
            if (s->skipped[k])
                fprintf(stderr, ", %llu skipped (%s)", (unsigned long long)s->skipped[k],
                        bw_skip_name((bw_skip)k));
        fputc('\n', stderr);
    }
    for (int i = 0; i < bw_ingest_ndiag(in) && shown < 20; i++, shown++) {
        const bw_diag *d = bw_ingest_diag(in, i);
        fprintf(stderr, "%s:%llu: %s%s%s\n", bw_ingest_file(in, d->file)->path,
                (unsigned long long)d->line, bw_skip_name(d->reason),
                d->detail[0] ? ": " : "", d->detail);
    }
    bw_ingest_totals(in, &tot);
    fprintf(stderr, "read %llu records from %d file%s (%.1f MB) in %.2f s",
            (unsigned long long)tot.records, nfiles - nskipfiles, nfiles - nskipfiles == 1 ? "" : "s",
            (double)tot.bytes / 1e6, seconds);
    if (malformed(&tot))
        fprintf(stderr, "; skipped %llu malformed", (unsigned long long)malformed(&tot));
    if (tot.skipped[BW_SKIP_NOT_SESSION])
        fprintf(stderr, "; ignored %llu non-session events",
                (unsigned long long)tot.skipped[BW_SKIP_NOT_SESSION]);
    if (nskipfiles)
        fprintf(stderr, "; %d file%s in directories skipped (not session logs)", nskipfiles,
                nskipfiles == 1 ? "" : "s");
    fputc('\n', stderr);
}

void cli_json_str(FILE *f, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    putc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            putc('\\', f);
            putc(c, f);
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\t': fputs("\\t", f); break;
            case '\r': fputs("\\r", f); break;
            default:
                fputs("\\u00", f);
                putc(hex[c >> 4], f);
                putc(hex[c & 15], f);
            }
        } else {
            putc(c, f);
        }
    }
    putc('"', f);
}
