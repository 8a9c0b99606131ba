/* Address parsing, RFC 5952 printing and CIDR matching (single prefixes and
 * lists). */
#include "beaconwatch/bw_record.h"
#include "rule_lists.h"
#include "tap.h"

#include <stdint.h>
#include <string.h>

static int ok(const char *s, bw_ip *ip)
{
    return bw_ip_parse(s, strlen(s), ip) == 0;
}

static const char *roundtrip(const char *s)
{
    static char buf[BW_IP_STRLEN];
    bw_ip ip;
    if (!ok(s, &ip))
        return "<bad>";
    bw_ip_format(&ip, buf);
    return buf;
}

static int in(const char *cidr, const char *addr)
{
    bw_cidr c;
    bw_ip ip;
    if (bw_cidr_parse(cidr, strlen(cidr), &c) != 0 || !ok(addr, &ip))
        return -1;
    return bw_cidr_contains(&c, &ip);
}

int main(void)
{
    bw_ip ip;
    bw_record r;
    CHECK(ok("10.0.0.1", &ip) && ip.family == 4 && ip.a[10] == 0xff && ip.a[15] == 1);
    CHECK_STR(roundtrip("10.0.0.1"), "10.0.0.1");
    CHECK_STR(roundtrip("255.255.255.255"), "255.255.255.255");
    CHECK_STR(roundtrip("fe80::1"), "fe80::1");
    CHECK_STR(roundtrip("2001:DB8:0:0:0:0:2:1"), "2001:db8::2:1");
    CHECK_STR(roundtrip("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
    CHECK_STR(roundtrip("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1");
    CHECK_STR(roundtrip("::"), "::");
    CHECK_STR(roundtrip("::1"), "::1");
    CHECK_STR(roundtrip("1::"), "1::");
    CHECK_STR(roundtrip("::ffff:1.2.3.4"), "::ffff:102:304");
    CHECK_STR(roundtrip("fe80::d5c0:4ea0:7a3c:8fd4"), "fe80::d5c0:4ea0:7a3c:8fd4");
    CHECK(!ok("256.1.1.1", &ip));
    CHECK(!ok("1.2.3", &ip));
    CHECK(!ok("1.2.3.4.5", &ip));
    CHECK(!ok("1.2.3.4 ", &ip));
    CHECK(!ok("", &ip));
    CHECK(!ok("-", &ip));
    CHECK(!ok("1:2:3:4:5:6:7:8:9", &ip));
    CHECK(!ok("1::2::3", &ip));
    CHECK(!ok(":1", &ip));
    CHECK(!ok("1:", &ip));
    CHECK(!ok("12345::", &ip));
    CHECK(!ok("fe80::1%eth0", &ip));
    CHECK(in("10.0.0.0/8", "10.255.1.2") == 1);
    CHECK(in("10.0.0.0/8", "11.0.0.1") == 0);
    CHECK(in("172.16.0.0/12", "172.31.255.255") == 1);
    CHECK(in("172.16.0.0/12", "172.32.0.0") == 0);
    CHECK(in("192.0.0.8/32", "192.0.0.8") == 1);
    CHECK(in("192.0.0.8/32", "192.0.0.9") == 0);
    CHECK(in("fe80::/10", "fe80::1") == 1);
    CHECK(in("fe80::/10", "fec0::1") == 0);
    CHECK(in("ff00::/8", "ff02::fb") == 1);
    CHECK(in("10.0.0.0/8", "::ffff:10.0.0.1") == 0); /* family differs */
    CHECK(in("0.0.0.0/0", "8.8.8.8") == 1);
    CHECK(in("10.0.0.0/33", "10.0.0.1") == -1);
    CHECK(in("::/0", "2001:db8::1") == 1);
    CHECK(in("2001:db8::/64", "2001:db8::ffff:1") == 1);
    CHECK(in("2001:db8::/64", "2001:db8:0:1::1") == 0);
    CHECK(in("2001:db8::1/128", "2001:db8::1") == 1);
    CHECK(in("2001:db8::1/128", "2001:db8::2") == 0);
    CHECK(in("2001:db8::/65", "2001:db8::7fff:0:0:0") == 1);
    CHECK(in("2001:db8::/65", "2001:db8::8000:0:0:0") == 0);
    /* every prefix length against a bit-by-bit reference, random pairs
     * that agree on a random number of leading bits */
    uint64_t rs = 12345;
    int agree = 1;
    for (int it = 0; it < 20000; it++) {
        bw_cidr c;
        bw_ip x;
        memset(&c, 0, sizeof c);
        memset(&x, 0, sizeof x);
        int v4 = it % 2;
        c.net.family = x.family = v4 ? 4 : 6;
        for (int i = 0; i < 16; i++) {
            rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
            c.net.a[i] = x.a[i] = (uint8_t)(rs >> 56);
        }
        if (v4) {
            memset(c.net.a, 0, 10);
            memset(x.a, 0, 10);
            c.net.a[10] = c.net.a[11] = x.a[10] = x.a[11] = 0xff;
        }
        int off = v4 ? 96 : 0, width = v4 ? 32 : 128;
        c.bits = (int)((rs >> 20) % (uint64_t)(width + 1));
        int flip = (int)((rs >> 40) % (uint64_t)(width + 1)); /* first differing bit, or none */
        if (flip < width)
            x.a[(off + flip) / 8] ^= (uint8_t)(0x80 >> ((off + flip) % 8));
        int want = 1;
        for (int bit = 0; bit < c.bits; bit++) {
            int k = off + bit;
            if (((c.net.a[k / 8] ^ x.a[k / 8]) >> (7 - k % 8)) & 1)
                want = 0;
        }
        if (bw_cidr_contains(&c, &x) != want)
            agree = 0;
        /* the list's word-wise match, with an entry of the other family
         * before it */
        bw_cidr_list *l = bw_cidr_list_new();
        bw_cidr other = c;
        other.net.family = v4 ? 6 : 4;
        other.bits = 0;
        if (!l || bw_cidr_list_add(l, &other) || bw_cidr_list_add(l, &c) ||
            bw_cidr_list_contains(l, &x) != want)
            agree = 0;
        bw_cidr_list_free(l);
    }
    CHECK(agree);
    /* a list of many entries (its /16 index and per-family rest) against
     * any entry's own match; then after a failed parse and a clear, which
     * drop entries and rebuild the index */
    bw_cidr_list *l = bw_cidr_list_new();
    bw_cidr ents[48];
    int nent = 0, lagree = 1;
    CHECK(l != NULL);
    for (; l && nent < 48; nent++) {
        bw_cidr *c = &ents[nent];
        memset(c, 0, sizeof *c);
        int v4 = nent % 3 != 0;
        c->net.family = v4 ? 4 : 6;
        for (int i = 0; i < 16; i++) {
            rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
            c->net.a[i] = (uint8_t)(rs >> 56);
        }
        if (v4) {
            memset(c->net.a, 0, 10);
            c->net.a[10] = c->net.a[11] = 0xff;
        }
        /* IPv4 8..16 (the /16 index) or 17..32 (the rest), IPv6 16..128;
         * none so short that it would cover the others */
        c->bits = v4 ? (nent % 2 ? 8 + (int)((rs >> 20) % 9) : 17 + (int)((rs >> 20) % 16))
                     : 16 + (int)((rs >> 20) % 113);
        if (bw_cidr_list_add(l, c))
            lagree = 0;
    }
    for (int it = 0; l && it < 20000; it++) {
        bw_ip x;
        rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
        x = ents[(rs >> 33) % 48].net; /* near an entry: flip one bit */
        int bit = (int)((rs >> 13) % 128);
        if (x.family == 4 && bit < 96)
            bit = 96 + bit % 32;
        x.a[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        int want = 0;
        for (int i = 0; i < nent; i++)
            want |= bw_cidr_contains(&ents[i], &x);
        if (bw_cidr_list_contains(l, &x) != want)
            lagree = 0;
    }
    CHECK(lagree);
    if (l) {
        bw_errbuf eb;
        bw_ip x;
        bw_cidr_list_clear(l);
        CHECK(bw_ip_parse("10.1.2.3", 8, &x) == 0);
        CHECK(bw_cidr_list_parse(l, "10.0.0.0/8, nonsense", 20, "t", &eb) != 0);
        CHECK(bw_cidr_list_count(l) == 0 && !bw_cidr_list_contains(l, &x));
        CHECK(bw_cidr_list_parse(l, "10.0.0.0/8", 10, "t", &eb) == 0);
        CHECK(bw_cidr_list_contains(l, &x));
        bw_cidr_list_clear(l);
        CHECK(!bw_cidr_list_contains(l, &x));
    }
    bw_cidr_list_free(l);
    bw_record_clear(&r);
    CHECK(r.src_port == -1 && r.src_bytes == BW_UNSET && r.duration_us == BW_UNSET);
    return tap_done();
}
