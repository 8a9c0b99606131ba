/* Configuration files: shape checks, sequences joined, line numbers in
 * errors, application to rules through bw_rule_set. */
#include "beaconwatch/bw_config.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[256];

static bw_config *load(const char *text, bw_errbuf *eb)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return bw_config_load(path, eb);
}

int main(void)
{
    bw_errbuf eb = {{0}};
    bw_config *c;
    bw_rule *r;
    char buf[4096];
    snprintf(path, sizeof path, "/tmp/bw-test-config-%d.yaml", (int)getpid());

    c = load("# comment\ningest:\n  threads: 2\nelastic:\n  time_bucket_length: 300\n"
             "  truncate_at: [0.2, 0.7]\nsentinel:\n  time_delta_threshold: 25\n", &eb);
    CHECK(c != NULL);
    CHECK(bw_config_count(c) == 4);
    CHECK_STR(bw_config_get(c, 0)->section, "ingest");
    CHECK_STR(bw_config_get(c, 2)->key, "truncate_at");
    CHECK_STR(bw_config_get(c, 2)->value, "0.2,0.7");
    CHECK(bw_config_get(c, 2)->line == 6);
    CHECK(bw_config_get(c, 9) == NULL);
    r = bw_rule_new("elastic", &eb);
    CHECK(bw_config_apply(c, r, &eb) == BW_OK);
    bw_rule_params(r, buf, sizeof buf);
    CHECK(strstr(buf, "time_bucket_length = 300") != NULL);
    CHECK(strstr(buf, "truncate_at = 0.2,0.7") != NULL);
    bw_rule_free(r);
    /* the sentinel section does not reach the presets */
    r = bw_rule_new("sentinel-panos", &eb);
    CHECK(bw_config_apply(c, r, &eb) == BW_OK);
    bw_rule_params(r, buf, sizeof buf);
    CHECK(strstr(buf, "time_delta_threshold = 25") != NULL); /* the preset's own 25 */
    bw_rule_free(r);
    bw_config_free(c);

    /* a bad value: error names file:line and key */
    c = load("elastic:\n  max_jitter: 7\n", &eb);
    r = bw_rule_new("elastic", &eb);
    CHECK(c && bw_config_apply(c, r, &eb) == BW_ERR_CONFIG);
    CHECK(strstr(eb.msg, ":2:") && strstr(eb.msg, "max_jitter"));
    bw_rule_free(r);
    bw_config_free(c);

    /* shape errors */
    CHECK(load("nosuch:\n  a: 1\n", &eb) == NULL && strstr(eb.msg, "unknown section 'nosuch'"));
    CHECK(load("elastic: 5\n", &eb) == NULL && strstr(eb.msg, "must be a mapping"));
    CHECK(load("elastic:\n  a:\n    b: 1\n", &eb) == NULL && strstr(eb.msg, ":3:"));
    CHECK(load("elastic:\n  a: [1, [2]]\n", &eb) == NULL);
    CHECK(load("elastic:\n  a: &x 1\n  b: *x\n", &eb) == NULL && strstr(eb.msg, "aliases"));
    CHECK(load("elastic:\n  a: [1\n", &eb) == NULL && strstr(eb.msg, path));
    CHECK(load("- 1\n- 2\n", &eb) == NULL);
    c = load("", &eb); /* an empty file is an empty configuration */
    CHECK(c != NULL && bw_config_count(c) == 0);
    bw_config_free(c);
    CHECK(bw_config_load("/nonexistent/x.yaml", &eb) == NULL && strstr(eb.msg, "cannot open"));
    unlink(path);
    return tap_done();
}
