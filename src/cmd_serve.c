/* `beaconwatch serve`: the dashboards and their JSON API over a store
 * (docs/api.md), until SIGINT or SIGTERM. The pages are compiled in
 * (web_assets.c, generated at build time from web/). */
#include "cli.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "beaconwatch/bw_serve.h"
#include "beaconwatch/bw_store.h"

/* The generated table of pages (tools/embed_assets.c). */
extern const bw_asset bw_web_assets[];
extern const size_t bw_web_nassets;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: beaconwatch serve [OPTIONS]\n\n"
        "Serves the dashboards and their JSON API (docs/api.md) from the store,\n"
        "read-only, until interrupted.\n\n"
        "      --store PATH      the store (default ./" BW_STORE_DEFAULT_PATH ")\n"
        "      --listen H:P      address and port (default 127.0.0.1:8080; port 0 picks\n"
        "                        a free one; IPv6 as [ADDR]:PORT)\n"
        "      --token T         require 'Authorization: Bearer T' on /api/ (needed for\n"
        "                        any address that is not loopback); the pages take it\n"
        "                        from #token=T in their address\n"
        "      --threads N       worker threads (default: the number of cores)\n"
        "      --max-conns N     concurrent connections (default 256)\n"
        "  -h, --help            this text\n\n"
        "Prints 'listening on http://HOST:PORT/' on stdout once it accepts requests.\n"
        "Exit status: 0 stopped by a signal, 1 failure, 2 usage error.\n");
}

int bw_cmd_serve(int argc, char **argv)
{
    enum { O_STORE = 256, O_LISTEN, O_TOKEN, O_THREADS, O_CONNS };
    static const struct option longopts[] = {
        {"store", required_argument, NULL, O_STORE},
        {"listen", required_argument, NULL, O_LISTEN},
        {"token", required_argument, NULL, O_TOKEN},
        {"threads", required_argument, NULL, O_THREADS},
        {"max-conns", required_argument, NULL, O_CONNS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bw_serve_opts o;
    uint64_t n;
    int c;
    memset(&o, 0, sizeof o);
    o.store = BW_STORE_DEFAULT_PATH;
    o.listen = "127.0.0.1:8080";
    o.assets = bw_web_assets;
    o.nassets = bw_web_nassets;
    o.version = "0.1.0";
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_STORE: o.store = optarg; break;
        case O_LISTEN: o.listen = optarg; break;
        case O_TOKEN:
            if (!*optarg) {
                cli_err("--token: empty");
                return BW_EXIT_USAGE;
            }
            o.token = optarg;
            break;
        case O_THREADS:
            if (cli_parse_count(optarg, &n) != 0 || n == 0 || n > 256) {
                cli_err("--threads: expected 1..256, got '%s'", optarg);
                return BW_EXIT_USAGE;
            }
            o.threads = (unsigned)n;
            break;
        case O_CONNS:
            if (cli_parse_count(optarg, &n) != 0 || n == 0 || n > 65536) {
                cli_err("--max-conns: expected 1..65536, got '%s'", optarg);
                return BW_EXIT_USAGE;
            }
            o.max_conns = (unsigned)n;
            break;
        case 'h': usage(stdout); return BW_EXIT_OK;
        default: usage(stderr); return BW_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_err("serve takes no inputs ('%s')", argv[optind]);
        return BW_EXIT_USAGE;
    }

    /* Block the stop signals before the workers start, so that they
     * inherit the mask and only sigwait() below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    bw_errbuf eb = {{0}};
    bw_server *srv = NULL;
    int err = bw_serve_start(&o, &srv, &eb);
    if (err) {
        cli_err("%s", eb.msg);
        return err == BW_ERR_USAGE ? BW_EXIT_USAGE : BW_EXIT_FAIL;
    }
    char host[64];
    const char *colon = strrchr(o.listen, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - o.listen), o.listen);
    printf("listening on http://%s:%u/\n", host, bw_serve_port(srv));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    bw_serve_stop(srv);
    return BW_EXIT_OK;
}
