/* The SQLite store handle, shared by the two files of the SQLite backend:
 * store_sqlite.c (schema, writes, the CLI's reads) and
 * store_sqlite_query.c (the dashboard queries). Nothing else includes it. */
#ifndef BW_STORE_SQLITE_H
#define BW_STORE_SQLITE_H

#include <sqlite3.h>

#include "beaconwatch/bw_store.h"

#define MAX_FINDING_TABLES 64
#define BW_STORE_ST_MAX 48 /* >= the statements of store_sqlite.c */
#define BW_DASH_ST_MAX 24  /* >= the statements of store_sqlite_query.c */

struct bw_store {
    sqlite3 *db;
    sqlite3_stmt *st[BW_STORE_ST_MAX];
    /* Dashboard statements, prepared on first use (most handles never
     * run them); finalized by bw_store_close. */
    sqlite3_stmt *dash[BW_DASH_ST_MAX];
    double deadline; /* bw_dash_deadline; 0: none */
    int progress_set;
    int in_tx;
    int readonly;
    /* The findings_v<N> tables present (retention deletes from each). */
    int ntables;
    int versions[MAX_FINDING_TABLES];
};

/* Reads a bw_stored_record from a row whose columns are, in order: ts_us,
 * duration_us, src_bytes, dst_bytes, src_ip, dst_ip, src_port, dst_port,
 * transport, host_name, process_name, dst_domain, event_action,
 * conn_state (strings point into the statement's row). */
void bw_sqlite_record(sqlite3_stmt *st, bw_stored_record *r);

#endif
