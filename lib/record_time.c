/* Timestamps: every form SPEC §2 lists, parsed from a slice into int64
 * microseconds UTC, and RFC 3339 formatting. Hand-written because it runs
 * once per record and libc's strptime/timegm are slow and locale-bound. */
#include "beaconwatch/bw_record.h"

#include <stdint.h>
#include <stdio.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

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

/* Reads exactly `len` digits at s[*i]; -1 when they are not all digits. */
static int64_t digits(const char *s, size_t n, size_t *i, int len)
{
    int64_t v = 0;
    for (int k = 0; k < len; k++, (*i)++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[*i] - '0');
    }
    return v;
}

/* Fraction digits after a '.', scaled to microseconds (digits beyond the
 * sixth are dropped: truncation, like Zeek's own printing). */
static int64_t fraction_us(const char *s, size_t n, size_t *i, int *ndig)
{
    int64_t us = 0;
    int k = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (k < 6)
            us = us * 10 + (s[*i] - '0');
        k++;
        (*i)++;
    }
    *ndig = k;
    for (int j = k; j < 6; j++)
        us *= 10;
    return us;
}

static int parse_iso(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int64_t y = digits(s, n, &i, 4), mo, d, h = 0, mi = 0, se = 0, us = 0, off = 0;
    if (y < 0 || i >= n || s[i++] != '-')
        return -1;
    if ((mo = digits(s, n, &i, 2)) < 1 || mo > 12 || i >= n || s[i++] != '-')
        return -1;
    if ((d = digits(s, n, &i, 2)) < 1 || d > 31)
        return -1;
    if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;
        if ((h = digits(s, n, &i, 2)) < 0 || h > 23 || i >= n || s[i++] != ':')
            return -1;
        if ((mi = digits(s, n, &i, 2)) < 0 || mi > 59)
            return -1;
        if (i < n && s[i] == ':') {
            i++;
            if ((se = digits(s, n, &i, 2)) < 0 || se > 60)
                return -1;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                int nd;
                i++;
                us = fraction_us(s, n, &i, &nd);
                if (nd == 0 || nd > 9)
                    return -1;
            }
        }
        if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i++] == '-' ? -1 : 1;
            int64_t oh = digits(s, n, &i, 2), om = 0;
            if (oh < 0 || oh > 23)
                return -1;
            if (i < n && s[i] == ':')
                i++;
            if (i < n) {
                if ((om = digits(s, n, &i, 2)) < 0 || om > 59)
                    return -1;
            }
            off = sign * (oh * 3600 + om * 60);
        }
    }
    if (i != n)
        return -1;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = ((days * 86400 + h * 3600 + mi * 60 + se) - off) * 1000000 + us;
    return 0;
}

/* Epoch seconds with optional fraction, or epoch milliseconds (13+ digit
 * integer), optionally negative or in exponent form as JSON may print. */
static int parse_epoch(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0, nd = 0, intdig = 0;
    int64_t sec = 0, us = 0;
    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (intdig >= 18)
            return -1;
        sec = sec * 10 + (s[i] - '0');
        i++;
        intdig++;
    }
    if (intdig == 0)
        return -1;
    if (i < n && s[i] == '.') {
        i++;
        us = fraction_us(s, n, &i, &nd);
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        /* 1.6644624567553e+09: rare, but valid JSON. */
        char buf[64];
        double v;
        if (n >= sizeof buf)
            return -1;
        for (size_t k = 0; k < n; k++)
            buf[k] = s[k];
        buf[n] = 0;
        if (sscanf(buf, "%lf", &v) != 1 || v > 9.2e12 || v < -9.2e12)
            return -1;
        *out = (int64_t)(v * 1e6);
        return 0;
    }
    if (i != n)
        return -1;
    if (nd == 0 && intdig >= 13) { /* epoch milliseconds */
        if (sec > INT64_MAX / 1000)
            return -1;
        *out = (neg ? -sec : sec) * 1000;
        return 0;
    }
    if (sec > 9200000000000LL)
        return -1;
    *out = neg ? -(sec * 1000000 + us) : sec * 1000000 + us;
    return 0;
}

int bw_time_parse(const char *s, size_t n, int64_t *us)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n > 48)
        return -1;
    if (n >= 10 && s[4] == '-')
        return parse_iso(s, n, us);
    return parse_epoch(s, n, us);
}

static size_t format_common(int64_t us, char *buf, int frac_digits)
{
    int64_t sec = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t rem = us - sec * 1000000;
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t sod = sec - days * 86400, y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int len;
    if (frac_digits == 6)
        len = snprintf(buf, BW_TIME_STRLEN, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                       (long long)y, m, d, (int)(sod / 3600), (int)(sod / 60 % 60),
                       (int)(sod % 60), (long long)rem);
    else
        len = snprintf(buf, BW_TIME_STRLEN, "%04lld-%02u-%02uT%02d:%02d:%02d.%03lldZ",
                       (long long)y, m, d, (int)(sod / 3600), (int)(sod / 60 % 60),
                       (int)(sod % 60), (long long)(rem / 1000));
    return len < 0 ? 0 : (size_t)len;
}

size_t bw_time_format(int64_t us, char *buf)
{
    return format_common(us, buf, 6);
}

size_t bw_time_format_ms(int64_t us, char *buf)
{
    return format_common(us, buf, 3);
}
