/*
 * The run store: every run kept in one SQLite database (docs/store.md), written one run
 * per transaction, read by several processes at once (WAL), schema versioned with forward
 * migrations. A store handle belongs to one thread; the library never prints.
 */
#ifndef HOPWATCH_STORE_H
#define HOPWATCH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <hopwatch/run.h>

typedef struct hw_store hw_store_t;

/* The schema version this library writes (PRAGMA user_version). */
#define HW_STORE_SCHEMA 4

/*
 * Store statuses, beyond those of status.h (HW_ERR_NOMEM, HW_ERR_INVAL, HW_ERR_IO...).
 * store_strerror names both kinds.
 */
enum hw_store_status {
	HW_STORE_ERR_NOTFOUND = -100, /* no store at that path, or no such run */
	HW_STORE_ERR_NEWER = -101,    /* the store's schema is newer than this program's */
	HW_STORE_ERR_NOTSTORE = -102, /* not an SQLite file, not a hopwatch store, or damaged */
	HW_STORE_ERR_BUSY = -103,     /* another process held the store past the busy timeout */
	HW_STORE_ERR_READONLY = -104, /* the store cannot be written (permissions, media) */
	HW_STORE_ERR_DB = -105,       /* any other SQLite failure */
	HW_STORE_ERR_OLDER = -106,    /* an older schema in a store opened read-only */
};

/* store_open flags. */
#define HW_STORE_CREATE 1u    /* create the file when missing (its directory must exist) */
#define HW_STORE_READONLY 2u  /* never write: no migration, no WAL switch; a store of
				 version 3 reads as it is; when SQLite cannot make the -shm
				 file (another user's directory) and there is no -wal, the
				 file is read as it is (immutable) */

/* How long an operation waits for another process's lock before HW_STORE_ERR_BUSY. */
#define HW_STORE_BUSY_MS 30000

/*
 * Opens the store at path. Before SQLite sees an existing file, its header must read
 * "SQLite format 3" with a sane page size and a length that holds the pages it announces;
 * then the database must be a hopwatch store (our application id, or empty) of schema
 * version HW_STORE_SCHEMA or older. Only then, and unless HW_STORE_READONLY, is it switched
 * to WAL and migrated forward; a file refused is never written. A file of 0 bytes counts as
 * missing. NULL on failure with *status set and a one-line reason (naming the path) in err.
 */
hw_store_t *store_open(const char *path, unsigned flags, int *status, char *err, size_t errlen);

/* Closes the store (an open run is abandoned); NULL is fine. Returns NULL. */
hw_store_t *store_close(hw_store_t *store);

/* The one-line reason for the store's last failure ("" when none). */
const char *store_errmsg(const hw_store_t *store);

/* A one-line description of a status, store statuses and those of status.h alike. */
const char *store_strerror(int status);

/* The schema version the open store has (after migration: HW_STORE_SCHEMA). */
int store_schema_version(const hw_store_t *store);

/*
 * Starts saving a run: its head (every run-level field of its JSON document: start,
 * vantage, tool, tag, options, transit...) is copied now, its traces follow with
 * store_add_trace as they complete. Traces wait in a temporary table
 * (on disk past a small cache, so memory stays bounded) and reach the store only with
 * store_commit_run, in one short write transaction: other processes never see part of a
 * run, and a process killed midway leaves the store as it was. One run at a time.
 */
int store_begin_run(hw_store_t *store, const struct hw_run *run);

/* Adds one trace of the run begun (copied: the caller keeps it). */
int store_add_trace(hw_store_t *store, const struct hw_trace *trace);

/*
 * Writes the run begun with every trace added, in one transaction. *id (may be NULL)
 * gets its store id. On failure nothing of the run is stored and the run is over.
 * Test hook: HOPWATCH_TEST_COMMIT_PAUSE=MS sleeps inside the transaction, before COMMIT
 * (docs/store.md).
 */
int store_commit_run(hw_store_t *store, int64_t *id);

/* Abandons the run begun (nothing of it is stored); fine when none is. */
void store_abort_run(hw_store_t *store);

/* Saves a whole run at once (begin, every trace, commit). */
int store_save_run(hw_store_t *store, const struct hw_run *run, int64_t *id);

/* Loads run `id` with all its traces into *out (run->id set). HW_STORE_ERR_NOTFOUND when
 * there is no such run. */
int store_load_run(hw_store_t *store, int64_t id, struct hw_run **out);

/* The id of the n-th newest run (0 = the newest: "latest~n"); HW_STORE_ERR_NOTFOUND when
 * the store holds n runs or fewer. Newest = latest start time, then highest id. */
int store_latest(hw_store_t *store, unsigned n, int64_t *id);

/* What a listing shows of one run (strings borrowed for the callback only). */
struct hw_run_summary {
	int64_t id;
	uint64_t start_unix_us;
	const char *vantage;   /* host name, NULL when unknown */
	const char *sources;   /* the distinct source addresses, comma-separated */
	const char *tool;
	const char *tag;       /* NULL = none */
	const char *options;   /* NULL = unknown */
	const char *method;    /* "udp", "icmp", "tcp"; "mixed" or NULL */
	size_t n_traces;
	size_t n_completed;    /* traces that reached their destination */
};

/* Which runs a listing shows: every condition given must hold. */
struct hw_store_filter {
	const char *target;      /* a trace's target, network or destination is exactly this */
	const char *tag;         /* the run's tag is exactly this */
	uint64_t since_unix_us;  /* started at or after this time (0 = any) */
	size_t limit;            /* at most this many, the newest (0 = all) */
};

/* Called once per run listed; a non-zero return stops the listing and is returned. The
 * callback must not use the store. */
typedef int (*hw_store_list_cb)(void *arg, const struct hw_run_summary *run);

/* Lists the runs that pass filter (NULL = all), newest first. */
int store_list_runs(hw_store_t *store, const struct hw_store_filter *filter,
		    hw_store_list_cb cb, void *arg);

/*
 * The two newest comparable runs: runs of the same options (method, ports, flow, TTLs,
 * probes, multipath mode) and the same set of targets (network, else target name, else
 * destination, each with its flow id). *newer is the newest run that has a comparable
 * older one, *older the newest of those. HW_STORE_ERR_NOTFOUND when no two runs compare.
 */
int store_find_comparable(hw_store_t *store, int64_t *older, int64_t *newer);

/*
 * Whether two stored runs compare (as store_find_comparable means it): 1 yes, 0 no, or a
 * negative status (HW_STORE_ERR_NOTFOUND for an unknown id).
 */
int store_comparable(hw_store_t *store, int64_t a, int64_t b);

#endif
