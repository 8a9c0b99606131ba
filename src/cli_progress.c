/* Progress on stderr for long batch runs: a one-line bar redrawn in place
 * on a terminal, a plain line every 10 s otherwise (logs, CI). Nothing is
 * printed for runs shorter than two seconds. */
#include "cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct cli_progress {
    bw_ingest *in;
    int64_t (*newest)(void *);
    void *ctx;
    int tty, stop, drew;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void human_bytes(double b, char *buf, size_t n)
{
    const char *u[] = {"B", "kB", "MB", "GB", "TB"};
    int i = 0;
    while (b >= 1000 && i < 4) {
        b /= 1000;
        i++;
    }
    snprintf(buf, n, "%.1f %s", b, u[i]);
}

static void draw(struct cli_progress *p, double elapsed)
{
    bw_progress pr;
    char done[32], total[32], lag[128] = "";
    bw_ingest_progress(p->in, &pr);
    human_bytes((double)pr.bytes, done, sizeof done);
    human_bytes((double)pr.total_bytes, total, sizeof total);
    if (p->newest) {
        int64_t nu = p->newest(p->ctx);
        if (nu != BW_UNSET) {
            char ts[BW_TIME_STRLEN];
            double behind = (double)time(NULL) - (double)nu / 1e6;
            bw_time_format(nu, ts);
            ts[19] = 0; /* to the second */
            snprintf(lag, sizeof lag, ", newest event %sZ (%.1f h behind now)", ts,
                     behind / 3600);
        }
    }
    if (p->tty) {
        if (pr.total_bytes)
            fprintf(stderr, "\r[%3.0f%%] %s of %s, %.2f M records, %.2f M/s%s\033[K",
                    100.0 * (double)pr.bytes / (double)pr.total_bytes, done, total,
                    (double)pr.records / 1e6, (double)pr.records / 1e6 / elapsed, lag);
        else
            fprintf(stderr, "\r%s, %.2f M records, %.2f M/s%s\033[K", done,
                    (double)pr.records / 1e6, (double)pr.records / 1e6 / elapsed, lag);
        p->drew = 1;
    } else {
        fprintf(stderr, "progress: %.0f s, %llu records (%.2f M/s), %s%s%s%s\n", elapsed,
                (unsigned long long)pr.records, (double)pr.records / 1e6 / elapsed, done,
                pr.total_bytes ? " of " : "", pr.total_bytes ? total : "", lag);
    }
    fflush(stderr);
}

static void *loop(void *arg)
{
    struct cli_progress *p = arg;
    double t0 = cli_now(), next = t0 + 2.0, step = p->tty ? 0.25 : 10.0;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        if (p->stop)
            break;
        double now = cli_now();
        if (now >= next) {
            draw(p, now - t0);
            next = now + step;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cli_progress *cli_progress_start(bw_ingest *in, int64_t (*newest)(void *), void *ctx)
{
    struct cli_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->in = in;
    p->newest = newest;
    p->ctx = ctx;
    p->tty = isatty(2);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->tid, NULL, loop, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return NULL;
    }
    return p;
}

void cli_progress_stop(cli_progress *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->tid, NULL);
    if (p->drew)
        fputs("\r\033[K", stderr); /* the summary line takes its place */
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
