/* Implementation of the unit-test harness declared in tap.h. */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int npass, nfail;

void tap_fail(const char *file, int line, const char *expr)
{
    nfail++;
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, expr);
}

void tap_pass(void)
{
    npass++;
}

int tap_done(void)
{
    printf("%d passed, %d failed\n", npass, nfail);
    return nfail ? 1 : 0;
}

const char *tap_shared(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("BW_SHARED");
    struct stat st;
    if (!root)
        root = "../shared";
    snprintf(buf, sizeof buf, "%s/%s", root, rel);
    if (stat(buf, &st) == 0)
        return buf;
    if (getenv("CI")) {
        fprintf(stderr, "FAIL: %s is missing and CI is set\n", buf);
        exit(1);
    }
    printf("skip: %s is absent\n", buf);
    return NULL;
}
