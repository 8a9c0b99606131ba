/* beaconwatch: the command-line entry point; dispatches to subcommands. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"detect", bw_cmd_detect, "run beaconing rules over session logs"},
    {"records", bw_cmd_records, "print the normalized session records (or --count them)"},
    {"formats", bw_cmd_formats, "list the input formats and the fields each maps"},
    {"config", bw_cmd_config, "print the effective configuration (--print)"},
    {"generate", bw_cmd_generate, "write a seeded synthetic workload (for demos and benchmarks)"},
    {"findings", bw_cmd_findings, "read findings back from the store"},
    {"alerts", bw_cmd_alerts, "run the alert rules over the store and print new alerts"},
    {"watch", bw_cmd_watch, "follow growing logs, run the rules on schedule into the store"},
    {"status", bw_cmd_status, "show what the store holds and when each rule last ran"},
    {"serve", bw_cmd_serve, "serve the dashboards and their JSON API from the store"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: beaconwatch COMMAND [OPTIONS] [INPUT...]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'beaconwatch COMMAND --help' describes a command's options.\n"
               "INPUT is a file (plain, .gz or .zst), a directory (read recursively) or -"
               " for stdin.\n");
}

int main(int argc, char **argv)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
    /* Large arrays (group arenas, hash tables, sort buffers) are grown and
     * freed many times; glibc's default raises its mmap threshold after
     * each such free, so later ones land in the heap and leave holes there:
     * a fixed threshold keeps them mapped (realloc = mremap, free returns
     * the pages). Peak RSS of `detect` on the 10 M-record Zeek bench file:
     * 232 -> 173 MB with two workers (bench/README.md). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    if (argc < 2) {
        usage(stderr);
        return BW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return BW_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("beaconwatch 0.1.0\n");
        return BW_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    cli_err("unknown command '%s'", argv[1]);
    usage(stderr);
    return BW_EXIT_USAGE;
}
