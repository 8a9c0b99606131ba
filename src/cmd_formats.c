/* `beaconwatch formats`: the input formats and the fields each maps. */
#include "cli.h"

#include <string.h>

int bw_cmd_formats(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: beaconwatch formats\n\nLists the input formats (use the name with "
               "--format) and the fields each maps\nto the session record.\n");
        return BW_EXIT_OK;
    }
    if (argc > 1) {
        cli_err("formats: takes no arguments");
        return BW_EXIT_USAGE;
    }
    for (int f = 0; f < BW_FMT__COUNT; f++)
        printf("%-10s %s\n", bw_format_name((bw_format)f), bw_format_describe((bw_format)f));
    return BW_EXIT_OK;
}
