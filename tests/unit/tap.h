/* A tiny TAP-style test harness for the unit tests: CHECK() records a
 * failure with file:line and goes on; tap_done() sets the exit status. */
#ifndef BW_TAP_H
#define BW_TAP_H

#include <stdint.h>
#include <string.h>

void tap_fail(const char *file, int line, const char *expr);
void tap_pass(void);
int tap_done(void);
/* Path under ../shared, or NULL (after printing a skip message) when it is
 * absent; aborts the test when CI is set and ../shared is missing. */
const char *tap_shared(const char *rel);

#define CHECK(e) ((e) ? tap_pass() : tap_fail(__FILE__, __LINE__, #e))
#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)
#define CHECK_SLICE(s, lit) \
    CHECK((s).n == strlen(lit) && memcmp((s).p, (lit), (s).n) == 0)

#endif
