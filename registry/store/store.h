/*
 * registry/store/store.h: what the store files share. The store files
 * (one per table family: versions, tags, configs, signers, namespaces,
 * jobs, registry_keys) hold the registry's SQL, each statement a named
 * constant, always with parameters; they run on the caller's connection
 * and know nothing of pools or HTTP.
 */
#ifndef OPTREG_STORE_STORE_H
#define OPTREG_STORE_STORE_H

/* A timestamp column as RFC 3339 UTC with milliseconds. */
#define TS(col)                                                                \
	"to_char(" col " AT TIME ZONE 'UTC', "                                 \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#endif
