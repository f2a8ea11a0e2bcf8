/*
 * The run store on SQLite (docs/store.md).
 *
 * A file is looked at before SQLite is let near it: its 100-byte header must be SQLite's
 * with a length that holds the pages it announces, and the database must be ours (our
 * application id, or empty) and not newer than us. Nothing is written to a file that
 * fails a check; the WAL switch and the migrations come after all of them.
 *
 * Each trace is kept in the binary encoding of src/tracebin.c (schema version 3; versions
 * 1 and 2 kept JSON documents, which took seconds to parse for a large run). The run's own
 * fields are kept as its JSON document without traces (runs.head, version 4), so a field
 * the run document gains is stored without a new schema; the columns beside it repeat
 * what listings need.
 *
 * A run is written in one short transaction at its end. Until then its traces wait in a
 * temporary table, which lives in SQLite's temp database (its own file, unlinked when
 * opened): it takes no lock on the store, so a long trace never holds up another writer,
 * memory stays bounded, and a process killed midway leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <hopwatch/output.h>
#include <hopwatch/status.h>
#include <hopwatch/store.h>
#include <hopwatch/tracebin.h>

/* "HWst": PRAGMA application_id of a hopwatch store. */
#define STORE_APP_ID 0x48577374
#define HEADER_LEN 100
/* The oldest schema a read-only open reads without migrating it. */
#define READABLE_SCHEMA 3
#define ERR_LEN 512
/* Source addresses a run summary names before it says "+N". */
#define SOURCES_SHOWN 8

struct run_head {
	uint64_t start_us;
	char *vantage, *tool, *tag, *options;
	char *json;          /* the run's JSON document without its traces (runs.head) */
	int method;          /* -1: none yet, -2: mixed */
	size_t n_traces, n_completed;
};

struct hw_store {
	sqlite3 *db;
	char *path;
	bool readonly;
	int version;
	bool in_run;
	int run_status;      /* the first failure of the run begun */
	struct run_head head;
	sqlite3_stmt *spool_insert;
	char err[ERR_LEN];
};

/* ---- errors ---- */

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t len, const char *fmt, ...)
{
	if (err == NULL || len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* The status for an SQLite result code. */
static int sqlite_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return HW_OK;
	case SQLITE_BUSY: case SQLITE_LOCKED: return HW_STORE_ERR_BUSY;
	case SQLITE_READONLY: case SQLITE_PERM: return HW_STORE_ERR_READONLY;
	case SQLITE_NOTADB: case SQLITE_CORRUPT: case SQLITE_FORMAT: return HW_STORE_ERR_NOTSTORE;
	case SQLITE_NOMEM: return HW_ERR_NOMEM;
	case SQLITE_IOERR: case SQLITE_FULL: case SQLITE_CANTOPEN: return HW_ERR_IO;
	default: return HW_STORE_ERR_DB;
	}
}

/* Records an SQLite failure as the store's last error; returns its status. */
static int db_fail(hw_store_t *s, int rc, const char *what)
{
	int sys = s->db != NULL ? sqlite3_system_errno(s->db) : 0;
	set_err(s->err, sizeof(s->err), "%s: %s: %s%s%s%s", s->path, what,
		s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), sys ? " (" : "",
		sys ? strerror(sys) : "", sys ? ")" : "");
	return sqlite_status(rc);
}

const char *store_errmsg(const hw_store_t *store)
{
	return store != NULL ? store->err : "";
}

const char *store_strerror(int status)
{
	switch (status) {
	case HW_STORE_ERR_NOTFOUND: return "no such store or run";
	case HW_STORE_ERR_NEWER: return "the store's schema is newer than this hopwatch";
	case HW_STORE_ERR_NOTSTORE: return "not a hopwatch store (or damaged)";
	case HW_STORE_ERR_BUSY: return "the store is locked by another process";
	case HW_STORE_ERR_READONLY: return "the store is read-only";
	case HW_STORE_ERR_DB: return "database error";
	case HW_STORE_ERR_OLDER: return "the store needs a migration, which read-only access forbids";
	default: return hw_strerror(status);
	}
}

/* ---- small SQL helpers ---- */

static int exec(hw_store_t *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? HW_OK : db_fail(s, rc, sql);
}

static int prepare(hw_store_t *s, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	return rc == SQLITE_OK ? HW_OK : db_fail(s, rc, "preparing a query");
}

/* One integer from a query without parameters (a PRAGMA). */
static int query_int(hw_store_t *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = prepare(s, sql, &st);
	if (rc != HW_OK)
		return rc;
	int step = sqlite3_step(st);
	*out = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	rc = step == SQLITE_ROW || step == SQLITE_DONE ? HW_OK : db_fail(s, step, sql);
	sqlite3_finalize(st);
	return rc;
}

/* Binds text, NULL as SQL NULL. */
static int bind_text(sqlite3_stmt *st, int i, const char *text)
{
	return text != NULL ? sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT)
			    : sqlite3_bind_null(st, i);
}

static char *column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t != NULL ? strdup((const char *)t) : NULL;
}

/* Steps a statement to its end, expecting no rows. */
static int step_done(hw_store_t *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? HW_OK : db_fail(s, rc, what);
}

/* ---- the file before SQLite ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Checks an existing, non-empty file's header (docs: sqlite.org/fileformat.html §1.3).
 * A WAL may hold pages past the file's end only until a checkpoint writes them, and a
 * checkpoint writes the header too, so a valid in-header size never exceeds the file.
 */
static int check_header(const char *path, off_t size, bool *wal, char *err, size_t len)
{
	unsigned char h[HEADER_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, len, "%s: %s", path, strerror(errno));
		return errno == EACCES ? HW_STORE_ERR_READONLY : HW_ERR_IO;
	}
	ssize_t got = size >= HEADER_LEN ? read(fd, h, sizeof(h)) : 0;
	close(fd);
	if (got != (ssize_t)sizeof(h) || memcmp(h, "SQLite format 3", 16) != 0) {
		set_err(err, len, "%s is not an SQLite database (refused, left untouched)", path);
		return HW_STORE_ERR_NOTSTORE;
	}
	/* The write and read versions (offsets 18, 19) are 2 in WAL mode. */
	*wal = h[18] == 2 && h[19] == 2;
	uint32_t page = (uint32_t)h[16] << 8 | h[17];
	if (page == 1)
		page = 65536;
	if (page < 512 || (page & (page - 1)) != 0) {
		set_err(err, len, "%s: damaged SQLite header (page size %u; refused, left untouched)",
			path, page);
		return HW_STORE_ERR_NOTSTORE;
	}
	uint32_t pages = be32(h + 28);
	bool size_valid = pages != 0 && be32(h + 24) == be32(h + 92);
	if (size % page != 0 || (size_valid && (uint64_t)size < (uint64_t)pages * page)) {
		set_err(err, len, "%s is truncated: %lld bytes, %s (refused, left untouched)", path,
			(long long)size, size % page != 0 ? "not a whole number of pages"
							  : "fewer than its header announces");
		return HW_STORE_ERR_NOTSTORE;
	}
	uint32_t app = be32(h + 68), version = be32(h + 60);
	if (app != 0 && app != STORE_APP_ID) {
		set_err(err, len, "%s is an SQLite database of another program (refused, left untouched)",
			path);
		return HW_STORE_ERR_NOTSTORE;
	}
	if (app == STORE_APP_ID && version > HW_STORE_SCHEMA) {
		set_err(err, len, "%s has store schema version %u, newer than this hopwatch knows (%d): "
			"use a newer hopwatch", path, version, HW_STORE_SCHEMA);
		return HW_STORE_ERR_NEWER;
	}
	return HW_OK;
}

/* ---- schema and migrations ---- */

/* Version 1: runs and their traces, each trace one JSON document (json_trace_dump). */
static const char SCHEMA_V1[] =
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" start_us INTEGER NOT NULL,"
	" vantage TEXT, sources TEXT, tool TEXT, tag TEXT, options TEXT, method TEXT,"
	" n_traces INTEGER NOT NULL, n_completed INTEGER NOT NULL);"
	"CREATE TABLE traces ("
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" idx INTEGER NOT NULL,"
	" target TEXT, network TEXT, dst TEXT NOT NULL, src TEXT,"
	" flow_id INTEGER NOT NULL, stop_reason TEXT NOT NULL,"
	" doc TEXT NOT NULL);"
	"CREATE UNIQUE INDEX traces_run ON traces(run_id, idx);"
	"CREATE INDEX traces_target ON traces(target);"
	"CREATE INDEX traces_network ON traces(network);"
	"CREATE INDEX traces_dst ON traces(dst);"
	"CREATE INDEX runs_start ON runs(start_us);";

static int compare_key(hw_store_t *s, const char *options, sqlite3_stmt *lines, char **out);

/*
 * Version 2: runs.compare_key, a digest of what makes two runs comparable (options, and
 * each target with its flow id), indexed, so the newest comparable pair is one lookup.
 * Stores of version 1 get it computed from their traces.
 */
static int migrate_v2(hw_store_t *s)
{
	int rc = exec(s, "ALTER TABLE runs ADD COLUMN compare_key TEXT;"
			 "CREATE INDEX runs_compare ON runs(compare_key, start_us);");
	sqlite3_stmt *runs = NULL, *lines = NULL, *update = NULL;
	if (rc == HW_OK)
		rc = prepare(s, "SELECT id, options FROM runs", &runs);
	if (rc == HW_OK)
		rc = prepare(s, "SELECT DISTINCT coalesce(network, target, dst) || ' ' || flow_id "
				"FROM traces WHERE run_id = ?1 ORDER BY 1", &lines);
	if (rc == HW_OK)
		rc = prepare(s, "UPDATE runs SET compare_key = ?2 WHERE id = ?1", &update);
	int step;
	while (rc == HW_OK && (step = sqlite3_step(runs)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(runs, 0);
		char *key = NULL;
		sqlite3_bind_int64(lines, 1, id);
		rc = compare_key(s, (const char *)sqlite3_column_text(runs, 1), lines, &key);
		sqlite3_reset(lines);
		if (rc == HW_OK) {
			sqlite3_bind_int64(update, 1, id);
			sqlite3_bind_text(update, 2, key, -1, SQLITE_TRANSIENT);
			rc = step_done(s, update, "migrating to version 2");
			sqlite3_reset(update);
		}
		free(key);
	}
	if (rc == HW_OK && step != SQLITE_DONE)
		rc = db_fail(s, step, "migrating to version 2");
	sqlite3_finalize(runs);
	sqlite3_finalize(lines);
	sqlite3_finalize(update);
	return rc;
}

/*
 * Version 3: each trace as the binary encoding (tracebin.h) in traces.bin instead of the
 * JSON document in traces.doc. The table is rebuilt (SQLite cannot drop a NOT NULL
 * column in place), every document converted; a document that does not read rolls the
 * whole migration back (the store stays at its version) and is named in the error.
 */
static int migrate_v3(hw_store_t *s)
{
	int rc = exec(s, "CREATE TABLE traces_v3 ("
			 " run_id INTEGER NOT NULL REFERENCES runs(id),"
			 " idx INTEGER NOT NULL,"
			 " target TEXT, network TEXT, dst TEXT NOT NULL, src TEXT,"
			 " flow_id INTEGER NOT NULL, stop_reason TEXT NOT NULL,"
			 " bin BLOB NOT NULL);");
	sqlite3_stmt *old = NULL, *ins = NULL;
	if (rc == HW_OK)
		rc = prepare(s, "SELECT run_id, idx, target, network, dst, src, flow_id, "
				"stop_reason, doc FROM traces ORDER BY run_id, idx", &old);
	if (rc == HW_OK)
		rc = prepare(s, "INSERT INTO traces_v3 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			     &ins);
	int step = SQLITE_DONE;
	char jerr[256];
	while (rc == HW_OK && (step = sqlite3_step(old)) == SQLITE_ROW) {
		const char *doc = (const char *)sqlite3_column_text(old, 8);
		struct hw_trace *t = NULL;
		uint8_t *bin = NULL;
		size_t len = 0;
		rc = doc != NULL ? json_trace_load(doc, (size_t)sqlite3_column_bytes(old, 8), &t,
						   jerr, sizeof(jerr))
				 : HW_ERR_MALFORMED;
		if (rc == HW_OK)
			rc = tracebin_encode(t, &bin, &len, jerr, sizeof(jerr));
		trace_free(t);
		if (rc != HW_OK) {
			set_err(s->err, sizeof(s->err), "%s: cannot migrate to version 3: run %lld, "
				"trace %lld: %s (the store stays at version %d)", s->path,
				(long long)sqlite3_column_int64(old, 0),
				(long long)sqlite3_column_int64(old, 1),
				doc != NULL ? jerr : "no document", s->version);
			rc = HW_STORE_ERR_NOTSTORE;
			break;
		}
		for (int i = 0; i < 8; i++)
			sqlite3_bind_value(ins, i + 1, sqlite3_column_value(old, i));
		sqlite3_bind_blob(ins, 9, bin, (int)len, free);
		rc = step_done(s, ins, "migrating to version 3");
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
	}
	if (rc == HW_OK && step != SQLITE_DONE)
		rc = db_fail(s, step, "migrating to version 3");
	sqlite3_finalize(old);
	sqlite3_finalize(ins);
	if (rc == HW_OK)
		rc = exec(s, "DROP TABLE traces;"
			     "ALTER TABLE traces_v3 RENAME TO traces;"
			     "CREATE UNIQUE INDEX traces_run ON traces(run_id, idx);"
			     "CREATE INDEX traces_target ON traces(target);"
			     "CREATE INDEX traces_network ON traces(network);"
			     "CREATE INDEX traces_dst ON traces(dst);");
	return rc;
}

/*
 * Version 4: runs.head, the run's JSON document without its traces (json_write_run of
 * the run with none), so every run-level field the document carries (transit, and what
 * comes later) is kept. Runs stored before have none: their columns held all they had.
 */
static int migrate_v4(hw_store_t *s)
{
	return exec(s, "ALTER TABLE runs ADD COLUMN head TEXT");
}

/* migrations[v] brings a store of version v to v + 1 (0: a new store). */
static int create_v1(hw_store_t *s)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APP_ID);
	int rc = exec(s, sql);
	return rc == HW_OK ? exec(s, SCHEMA_V1) : rc;
}

static int (*const migrations[HW_STORE_SCHEMA])(hw_store_t *) = {create_v1, migrate_v2,
								  migrate_v3, migrate_v4};

/* Brings the store to HW_STORE_SCHEMA in one transaction (another process may be at it). */
static int migrate(hw_store_t *s)
{
	int rc = exec(s, "BEGIN IMMEDIATE");
	if (rc != HW_OK)
		return rc;
	int64_t v;
	rc = query_int(s, "PRAGMA user_version", &v);
	if (rc == HW_OK && v > HW_STORE_SCHEMA) {
		set_err(s->err, sizeof(s->err), "%s has store schema version %" PRId64 ", newer than "
			"this hopwatch knows (%d): use a newer hopwatch", s->path, v, HW_STORE_SCHEMA);
		rc = HW_STORE_ERR_NEWER;
	}
	for (; rc == HW_OK && v < HW_STORE_SCHEMA; v++)
		rc = migrations[v](s);
	if (rc == HW_OK) {
		char sql[48];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", HW_STORE_SCHEMA);
		rc = exec(s, sql);
	}
	if (rc == HW_OK)
		rc = exec(s, "COMMIT");
	if (rc != HW_OK)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	else
		s->version = HW_STORE_SCHEMA;
	return rc;
}

/*
 * Looks at the database through SQLite, reading only: ours, not newer, its tables there.
 * *empty: a database without a table (a new store).
 */
static int check_database(hw_store_t *s, bool *empty)
{
	int64_t app, version, tables, ours;
	int rc = query_int(s, "PRAGMA application_id", &app);
	if (rc != HW_OK && rc != HW_STORE_ERR_NOTSTORE)
		return db_fail(s, sqlite3_errcode(s->db), "cannot read it");
	if (rc == HW_OK)
		rc = query_int(s, "PRAGMA user_version", &version);
	if (rc == HW_OK)
		rc = query_int(s, "SELECT count(*) FROM sqlite_master", &tables);
	if (rc == HW_OK)
		rc = query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
				  "name IN ('runs', 'traces')", &ours);
	if (rc != HW_OK) {
		if (rc == HW_STORE_ERR_NOTSTORE)
			set_err(s->err, sizeof(s->err), "%s is not a usable SQLite database: %s "
				"(refused, left untouched)", s->path, sqlite3_errmsg(s->db));
		return rc;
	}
	*empty = tables == 0 && app == 0 && version == 0;
	if (*empty)
		return HW_OK;
	if (app != STORE_APP_ID || version < 1 || ours != 2) {
		set_err(s->err, sizeof(s->err), "%s is an SQLite database but not a hopwatch store "
			"(refused, left untouched)", s->path);
		return HW_STORE_ERR_NOTSTORE;
	}
	if (version > HW_STORE_SCHEMA) {
		set_err(s->err, sizeof(s->err), "%s has store schema version %" PRId64 ", newer than "
			"this hopwatch knows (%d): use a newer hopwatch", s->path, version,
			HW_STORE_SCHEMA);
		return HW_STORE_ERR_NEWER;
	}
	s->version = (int)version;
	return HW_OK;
}

/*
 * Before the first write to an existing store's file format (the WAL switch, a migration):
 * the pages must all be sound, or we would be writing into a damaged file.
 */
static int check_integrity(hw_store_t *s)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "PRAGMA quick_check(1)", &st);
	if (rc != HW_OK)
		return rc;
	int step = sqlite3_step(st);
	const unsigned char *answer = step == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	if (answer == NULL || strcmp((const char *)answer, "ok") != 0) {
		set_err(s->err, sizeof(s->err), "%s is damaged: %s (refused, left untouched)", s->path,
			answer != NULL ? (const char *)answer : sqlite3_errmsg(s->db));
		rc = HW_STORE_ERR_NOTSTORE;
	}
	sqlite3_finalize(st);
	return rc;
}

/* "file:PATH?immutable=1", PATH escaped as a URI path. */
static char *immutable_uri(const char *path)
{
	size_t len = strlen(path);
	char *uri = malloc(len * 3 + 32);
	if (uri == NULL)
		return NULL;
	char *o = uri + sprintf(uri, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++)
		o += *p == '%' || *p == '?' || *p == '#' || *p <= ' ' ? sprintf(o, "%%%02X", *p)
								  : sprintf(o, "%c", *p);
	strcpy(o, "?immutable=1");
	return uri;
}

/*
 * immutable: read the file as it is (no locks, no WAL). Read-only media always are: nobody
 * can write the store there, and SQLite could not make the shared-memory file WAL readers
 * need.
 */
static int open_db(hw_store_t *s, bool create, bool immutable)
{
	int flags = (s->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
		    (create ? SQLITE_OPEN_CREATE : 0);
	struct statvfs vfs;
	char *uri = NULL;
	if (s->readonly && !immutable && statvfs(s->path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		immutable = true;
	if (immutable) {
		if ((uri = immutable_uri(s->path)) == NULL)
			return HW_ERR_NOMEM;
		flags |= SQLITE_OPEN_URI;
	}
	int rc = sqlite3_open_v2(uri != NULL ? uri : s->path, &s->db, flags, NULL);
	free(uri);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "cannot open");
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, HW_STORE_BUSY_MS);
	return HW_OK;
}

/*
 * A read-only open that failed (rc) for want of the -shm file. In WAL mode SQLite reads
 * through the -shm and -wal files, and a reader must be able to make them when they are
 * missing: in a directory that is not ours (another user's store, 0644 in a 0755
 * directory) it cannot. With no -wal, or an empty one, the file holds every committed run
 * and is read as it is (immutable): 1. A non-empty -wal holds runs the file does not: the
 * failure stands, said plainly: 0.
 */
static int read_without_shm(hw_store_t *s, int rc)
{
	if (!s->readonly || (rc != HW_STORE_ERR_READONLY && rc != HW_ERR_IO))
		return 0;
	char wal[PATH_MAX + 8];
	struct stat sb;
	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", s->path) >= sizeof(wal))
		return 0;
	if (stat(wal, &sb) != 0 ? errno == ENOENT : sb.st_size == 0)
		return 1;
	set_err(s->err, sizeof(s->err), "%s cannot be read by this user: its -wal file holds runs "
		"not yet in the file, and SQLite needs a -shm file it cannot create here to read "
		"them (the owner's next hopwatch command folds them in)", s->path);
	return 0;
}

/* Makes the store ready to write: WAL, the current schema. */
static int prepare_for_writes(hw_store_t *s, bool empty, bool wal_already)
{
	int rc = HW_OK;
	if (!empty && (!wal_already || s->version < HW_STORE_SCHEMA))
		rc = check_integrity(s);
	if (rc == HW_OK && !wal_already) {
		sqlite3_stmt *st;
		rc = prepare(s, "PRAGMA journal_mode = WAL", &st);
		if (rc == HW_OK) {
			int step = sqlite3_step(st);
			const unsigned char *mode = step == SQLITE_ROW ? sqlite3_column_text(st, 0)
								       : NULL;
			if (mode == NULL || strcmp((const char *)mode, "wal") != 0)
				rc = db_fail(s, step == SQLITE_ROW ? SQLITE_READONLY : step,
					     "cannot switch to WAL");
			sqlite3_finalize(st);
		}
	}
	if (rc == HW_OK && s->version < HW_STORE_SCHEMA)
		rc = migrate(s);
	return rc;
}

hw_store_t *store_open(const char *path, unsigned flags, int *status, char *err, size_t errlen)
{
	int st_dummy;
	if (status == NULL)
		status = &st_dummy;
	set_err(err, errlen, "%s", "");
	if (path == NULL || *path == '\0') {
		set_err(err, errlen, "no store path");
		*status = HW_ERR_INVAL;
		return NULL;
	}
	struct stat sb;
	bool exists = stat(path, &sb) == 0;
	if (!exists && errno != ENOENT) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		*status = errno == EACCES ? HW_STORE_ERR_READONLY : HW_ERR_IO;
		return NULL;
	}
	if (exists && !S_ISREG(sb.st_mode)) {
		set_err(err, errlen, "%s is not a regular file (refused)", path);
		*status = HW_STORE_ERR_NOTSTORE;
		return NULL;
	}
	bool fresh = !exists || sb.st_size == 0;
	if (fresh && !(flags & HW_STORE_CREATE)) {
		set_err(err, errlen, "no store at %s (nothing stored yet?)", path);
		*status = HW_STORE_ERR_NOTFOUND;
		return NULL;
	}
	if (fresh && (flags & HW_STORE_READONLY)) {
		set_err(err, errlen, "no store at %s to read", path);
		*status = HW_STORE_ERR_NOTFOUND;
		return NULL;
	}
	/* Said plainly, before SQLite turns it into "unable to open database file". */
	if (exists && !(flags & HW_STORE_READONLY) && access(path, W_OK) != 0) {
		set_err(err, errlen, "%s cannot be written: %s", path, strerror(errno));
		*status = errno == EACCES || errno == EROFS || errno == EPERM ? HW_STORE_ERR_READONLY
									       : HW_ERR_IO;
		return NULL;
	}
	bool wal_already = false;
	if (!fresh) {
		*status = check_header(path, sb.st_size, &wal_already, err, errlen);
		if (*status != HW_OK)
			return NULL;
	}
	hw_store_t *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		set_err(err, errlen, "out of memory");
		*status = HW_ERR_NOMEM;
		return NULL;
	}
	s->readonly = (flags & HW_STORE_READONLY) != 0;
	bool empty = false;
	int rc = open_db(s, fresh, false);
	if (rc == HW_OK)
		rc = check_database(s, &empty);
	if (rc != HW_OK && read_without_shm(s, rc)) {
		sqlite3_close(s->db);
		s->db = NULL;
		rc = open_db(s, false, true);
		if (rc == HW_OK)
			rc = check_database(s, &empty);
	}
	/* Read-only, a store of version 3 reads as it is (version 4 only added runs.head). */
	if (rc == HW_OK && s->readonly && (empty || s->version < READABLE_SCHEMA)) {
		set_err(s->err, sizeof(s->err), empty ? "%s holds no store yet" :
			"%s has store schema version %d; it needs a migration, which a read-only "
			"open forbids (open it once writable)", s->path, s->version);
		rc = empty ? HW_STORE_ERR_NOTFOUND : HW_STORE_ERR_OLDER;
	}
	if (rc == HW_OK && !s->readonly)
		rc = prepare_for_writes(s, empty, wal_already);
	/* The spool of a run in progress: SQLite's temp database, on disk past its cache. */
	if (rc == HW_OK && !s->readonly)
		rc = exec(s, "PRAGMA temp_store = FILE");
	if (rc != HW_OK) {
		*status = rc;
		set_err(err, errlen, "%s", s->err);
		store_close(s);
		return NULL;
	}
	*status = HW_OK;
	return s;
}

static void head_clear(struct run_head *h)
{
	free(h->vantage);
	free(h->tool);
	free(h->tag);
	free(h->options);
	free(h->json);
	*h = (struct run_head){0};
}

hw_store_t *store_close(hw_store_t *store)
{
	if (store == NULL)
		return NULL;
	sqlite3_finalize(store->spool_insert);
	sqlite3_close(store->db);
	head_clear(&store->head);
	free(store->path);
	free(store);
	return NULL;
}

int store_schema_version(const hw_store_t *store)
{
	return store != NULL ? store->version : 0;
}

/* ---- comparability ---- */

/*
 * The compare key of a run: a 64-bit FNV-1a digest of its options and of its sorted
 * distinct "identity flow" lines (identity: the network, else the target name, else the
 * destination), then the number of lines. lines is a prepared, bound query yielding them.
 */
static int compare_key(hw_store_t *s, const char *options, sqlite3_stmt *lines, char **out)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const uint64_t prime = 0x100000001b3ULL;
	size_t n = 0;
	const char *o = options != NULL ? options : "";
	for (; *o != '\0'; o++)
		h = (h ^ (unsigned char)*o) * prime;
	int step;
	while ((step = sqlite3_step(lines)) == SQLITE_ROW) {
		h = (h ^ '\n') * prime;
		for (const unsigned char *p = sqlite3_column_text(lines, 0); p != NULL && *p; p++)
			h = (h ^ *p) * prime;
		n++;
	}
	if (step != SQLITE_DONE)
		return db_fail(s, step, "computing a compare key");
	char buf[48];
	snprintf(buf, sizeof(buf), "%016" PRIx64 "-%zu", h, n);
	return (*out = strdup(buf)) != NULL ? HW_OK : HW_ERR_NOMEM;
}

/* ---- writing a run ---- */

/* The run's JSON document without its traces: what runs.head keeps. */
static int head_document(const struct hw_run *run, char **out)
{
	struct hw_run bare = *run;
	bare.n_traces = 0;
	bare.traces = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return HW_ERR_NOMEM;
	int rc = json_write_run(&bare, f);
	if (fclose(f) != 0 && rc == HW_OK)
		rc = HW_ERR_NOMEM;
	if (rc != HW_OK) {
		free(buf);
		return rc;
	}
	*out = buf;
	return HW_OK;
}

int store_begin_run(hw_store_t *s, const struct hw_run *run)
{
	if (s == NULL || run == NULL || s->in_run || s->readonly)
		return HW_ERR_INVAL;
	struct run_head *h = &s->head;
	head_clear(h);
	h->start_us = run->start_unix_us;
	h->method = -1;
	if ((run->vantage && !(h->vantage = strdup(run->vantage))) ||
	    (run->tool_version && !(h->tool = strdup(run->tool_version))) ||
	    (run->tag && !(h->tag = strdup(run->tag))) ||
	    (run->options && !(h->options = strdup(run->options)))) {
		head_clear(h);
		return HW_ERR_NOMEM;
	}
	int rc = head_document(run, &h->json);
	if (rc != HW_OK) {
		set_err(s->err, sizeof(s->err), "%s: the run cannot be stored: its head: %s",
			s->path, hw_strerror(rc));
		head_clear(h);
		return rc;
	}
	rc = exec(s, "CREATE TEMP TABLE IF NOT EXISTS spool ("
			 " idx INTEGER PRIMARY KEY, target TEXT, network TEXT, dst TEXT NOT NULL,"
			 " src TEXT, flow_id INTEGER NOT NULL, stop_reason TEXT NOT NULL,"
			 " bin BLOB NOT NULL);"
			 "DELETE FROM temp.spool;");
	if (rc == HW_OK && s->spool_insert == NULL)
		rc = prepare(s, "INSERT INTO temp.spool (idx, target, network, dst, src, flow_id, "
				"stop_reason, bin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			     &s->spool_insert);
	if (rc != HW_OK) {
		head_clear(h);
		return rc;
	}
	s->in_run = true;
	s->run_status = HW_OK;
	return HW_OK;
}

int store_add_trace(hw_store_t *s, const struct hw_trace *t)
{
	if (s == NULL || t == NULL || !s->in_run)
		return HW_ERR_INVAL;
	if (s->run_status != HW_OK)
		return s->run_status;
	uint8_t *bin = NULL;
	size_t len = 0;
	char why[256];
	int rc = tracebin_encode(t, &bin, &len, why, sizeof(why));
	if (rc == HW_OK && len > INT_MAX) {
		free(bin);
		snprintf(why, sizeof(why), "%zu bytes", len);
		rc = HW_ERR_INVAL;
	}
	if (rc != HW_OK) {
		set_err(s->err, sizeof(s->err), "%s: a trace cannot be stored: %s", s->path,
			why[0] != '\0' ? why : hw_strerror(rc));
		return s->run_status = rc;
	}
	char dst[HW_ADDRSTRLEN], src[HW_ADDRSTRLEN];
	sqlite3_stmt *st = s->spool_insert;
	sqlite3_bind_int64(st, 1, (int64_t)s->head.n_traces);
	bind_text(st, 2, t->target);
	bind_text(st, 3, t->network);
	bind_text(st, 4, hw_addr_str(&t->dst, dst, sizeof(dst)));
	bind_text(st, 5, hw_addr_is_unset(&t->src) ? NULL : hw_addr_str(&t->src, src, sizeof(src)));
	sqlite3_bind_int(st, 6, t->flow_id);
	bind_text(st, 7, hw_stop_reason_name(t->stop_reason));
	sqlite3_bind_blob(st, 8, bin, (int)len, free);
	rc = step_done(s, st, "spooling a trace");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != HW_OK)
		return s->run_status = rc;
	struct run_head *h = &s->head;
	h->n_traces++;
	h->n_completed += t->stop_reason == HW_STOP_COMPLETED;
	if (h->method == -1)
		h->method = (int)t->method;
	else if (h->method != (int)t->method)
		h->method = -2;
	return HW_OK;
}

void store_abort_run(hw_store_t *s)
{
	if (s == NULL || !s->in_run)
		return;
	sqlite3_exec(s->db, "DELETE FROM temp.spool", NULL, NULL, NULL);
	head_clear(&s->head);
	s->in_run = false;
}

/* The distinct sources of the spooled traces, comma-separated (at most SOURCES_SHOWN). */
static int spool_sources(hw_store_t *s, char **out)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "SELECT DISTINCT src FROM temp.spool WHERE src IS NOT NULL ORDER BY src",
			 &st);
	if (rc != HW_OK)
		return rc;
	char buf[SOURCES_SHOWN * (HW_ADDRSTRLEN + 1) + 32] = "";
	size_t n = 0, len = 0;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ < SOURCES_SHOWN)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", n > 1 ? "," : "",
						(const char *)sqlite3_column_text(st, 0));
	}
	if (n > SOURCES_SHOWN)
		snprintf(buf + len, sizeof(buf) - len, ",+%zu", n - SOURCES_SHOWN);
	rc = step == SQLITE_DONE ? HW_OK : db_fail(s, step, "listing sources");
	sqlite3_finalize(st);
	*out = NULL;
	if (rc == HW_OK && n > 0 && (*out = strdup(buf)) == NULL)
		rc = HW_ERR_NOMEM;
	return rc;
}

/* Copies the spooled run into the store; inside the write transaction. */
static int write_run(hw_store_t *s, const char *sources, const char *key, int64_t *id)
{
	const struct run_head *h = &s->head;
	sqlite3_stmt *st;
	int rc = prepare(s, "INSERT INTO runs (start_us, vantage, sources, tool, tag, options, "
			    "method, n_traces, n_completed, compare_key, head) "
			    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", &st);
	if (rc != HW_OK)
		return rc;
	sqlite3_bind_int64(st, 1, (int64_t)h->start_us);
	bind_text(st, 2, h->vantage);
	bind_text(st, 3, sources);
	bind_text(st, 4, h->tool);
	bind_text(st, 5, h->tag);
	bind_text(st, 6, h->options);
	bind_text(st, 7, h->method >= 0 ? hw_method_name((enum hw_method)h->method)
				      : h->method == -2 ? "mixed" : NULL);
	sqlite3_bind_int64(st, 8, (int64_t)h->n_traces);
	sqlite3_bind_int64(st, 9, (int64_t)h->n_completed);
	bind_text(st, 10, key);
	bind_text(st, 11, h->json);
	rc = step_done(s, st, "writing the run");
	sqlite3_finalize(st);
	if (rc != HW_OK)
		return rc;
	*id = sqlite3_last_insert_rowid(s->db);
	rc = prepare(s, "INSERT INTO traces (run_id, idx, target, network, dst, src, flow_id, "
			"stop_reason, bin) SELECT ?1, idx, target, network, dst, src, flow_id, "
			"stop_reason, bin FROM temp.spool ORDER BY idx", &st);
	if (rc != HW_OK)
		return rc;
	sqlite3_bind_int64(st, 1, *id);
	rc = step_done(s, st, "writing the traces");
	sqlite3_finalize(st);
	return rc;
}

/*
 * A test hook, not a setting (docs/store.md): HOPWATCH_TEST_COMMIT_PAUSE=MS (1..600000)
 * sleeps inside the commit's write transaction, after the run's rows are written and
 * before COMMIT, so that a test can kill -9 the process exactly there.
 */
static void test_commit_pause(void)
{
	const char *v = getenv("HOPWATCH_TEST_COMMIT_PAUSE");
	char *end;
	long ms = v != NULL ? strtol(v, &end, 10) : 0;
	if (v == NULL || end == v || *end != '\0' || ms < 1 || ms > 600000)
		return;
	struct timespec nap = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
		;
}

int store_commit_run(hw_store_t *s, int64_t *id)
{
	if (s == NULL || !s->in_run)
		return HW_ERR_INVAL;
	int rc = s->run_status;
	char *sources = NULL, *key = NULL;
	int64_t new_id = 0;
	sqlite3_stmt *lines = NULL;
	/* Everything that reads only the spool happens before the store is locked. */
	if (rc == HW_OK)
		rc = spool_sources(s, &sources);
	if (rc == HW_OK)
		rc = prepare(s, "SELECT DISTINCT coalesce(network, target, dst) || ' ' || flow_id "
				"FROM temp.spool ORDER BY 1", &lines);
	if (rc == HW_OK)
		rc = compare_key(s, s->head.options, lines, &key);
	sqlite3_finalize(lines);
	if (rc == HW_OK)
		rc = exec(s, "BEGIN IMMEDIATE");
	if (rc == HW_OK) {
		rc = write_run(s, sources, key, &new_id);
		if (rc == HW_OK) {
			test_commit_pause();
			rc = exec(s, "COMMIT");
		}
		if (rc != HW_OK)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	free(sources);
	free(key);
	store_abort_run(s); /* the run is over either way: empties the spool */
	if (rc == HW_OK && id != NULL)
		*id = new_id;
	return rc;
}

int store_save_run(hw_store_t *s, const struct hw_run *run, int64_t *id)
{
	int rc = store_begin_run(s, run);
	for (size_t i = 0; rc == HW_OK && i < run->n_traces; i++)
		rc = store_add_trace(s, run->traces[i]);
	if (rc != HW_OK) {
		store_abort_run(s);
		return rc;
	}
	return store_commit_run(s, id);
}

/* ---- reading ---- */

static int load_traces(hw_store_t *s, int64_t id, struct hw_run *run)
{
	sqlite3_stmt *st;
	int rc = prepare(s, "SELECT idx, bin FROM traces WHERE run_id = ?1 ORDER BY idx", &st);
	if (rc != HW_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int step;
	char berr[256];
	while (rc == HW_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		/* Blob before bytes: asking for the length first could convert the value. */
		const uint8_t *bin = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		struct hw_trace *t = NULL;
		rc = bin != NULL ? tracebin_decode(bin, len, &t, berr, sizeof(berr))
				 : HW_ERR_MALFORMED;
		if (rc != HW_OK) {
			set_err(s->err, sizeof(s->err), "%s: run %" PRId64 ", trace %lld: %s", s->path,
				id, (long long)sqlite3_column_int64(st, 0),
				bin != NULL ? berr : "no trace");
		} else if ((rc = run_add_trace(run, t)) != HW_OK) {
			trace_free(t);
		}
	}
	if (rc == HW_OK && step != SQLITE_DONE)
		rc = db_fail(s, step, "reading traces");
	sqlite3_finalize(st);
	return rc;
}

/* The run's own fields: its head document, or the columns for a run stored before v4. */
static int load_head(hw_store_t *s, int64_t id, struct hw_run **out)
{
	sqlite3_stmt *st;
	int rc = prepare(s, s->version >= 4 ? "SELECT start_us, vantage, tool, tag, options, head "
						"FROM runs WHERE id = ?1"
					      : "SELECT start_us, vantage, tool, tag, options, NULL "
						"FROM runs WHERE id = ?1", &st);
	if (rc != HW_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	struct hw_run *run = NULL;
	if (step == SQLITE_ROW && sqlite3_column_type(st, 5) != SQLITE_NULL) {
		const char *head = (const char *)sqlite3_column_text(st, 5);
		char jerr[256];
		rc = head != NULL ? json_read_run(head, (size_t)sqlite3_column_bytes(st, 5), &run,
						  jerr, sizeof(jerr))
				  : HW_ERR_NOMEM;
		if (rc != HW_OK)
			set_err(s->err, sizeof(s->err), "%s: run %" PRId64 ": its head: %s", s->path,
				id, head != NULL ? jerr : "out of memory");
	} else if (step == SQLITE_ROW) {
		if ((run = run_new()) == NULL)
			rc = HW_ERR_NOMEM;
		else {
			run->start_unix_us = (uint64_t)sqlite3_column_int64(st, 0);
			run->vantage = column_dup(st, 1);
			run->tool_version = column_dup(st, 2);
			run->tag = column_dup(st, 3);
			run->options = column_dup(st, 4);
		}
	} else if (step == SQLITE_DONE) {
		set_err(s->err, sizeof(s->err), "%s: no run %" PRId64, s->path, id);
		rc = HW_STORE_ERR_NOTFOUND;
	} else {
		rc = db_fail(s, step, "reading a run");
	}
	sqlite3_finalize(st);
	if (rc == HW_OK)
		run->id = id;
	else
		run = run_free(run);
	*out = run;
	return rc;
}

int store_load_run(hw_store_t *s, int64_t id, struct hw_run **out)
{
	if (s == NULL || out == NULL)
		return HW_ERR_INVAL;
	*out = NULL;
	struct hw_run *run = NULL;
	/* One read transaction: the head and the traces from one snapshot. */
	int rc = exec(s, "BEGIN");
	if (rc == HW_OK) {
		rc = load_head(s, id, &run);
		if (rc == HW_OK)
			rc = load_traces(s, id, run);
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	}
	if (rc != HW_OK) {
		run_free(run);
		return rc;
	}
	*out = run;
	return HW_OK;
}

int store_latest(hw_store_t *s, unsigned n, int64_t *id)
{
	if (s == NULL || id == NULL)
		return HW_ERR_INVAL;
	sqlite3_stmt *st;
	int rc = prepare(s, "SELECT id FROM runs ORDER BY start_us DESC, id DESC LIMIT 1 OFFSET ?1",
			 &st);
	if (rc != HW_OK)
		return rc;
	sqlite3_bind_int64(st, 1, n);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
	} else if (step == SQLITE_DONE) {
		set_err(s->err, sizeof(s->err), n == 0 ? "%s holds no run yet" :
			"%s holds no run latest~%u (fewer runs stored)", s->path, n);
		rc = HW_STORE_ERR_NOTFOUND;
	} else {
		rc = db_fail(s, step, "finding the latest run");
	}
	sqlite3_finalize(st);
	return rc;
}

int store_list_runs(hw_store_t *s, const struct hw_store_filter *filter, hw_store_list_cb cb,
		    void *arg)
{
	static const struct hw_store_filter all = {0};
	if (s == NULL || cb == NULL)
		return HW_ERR_INVAL;
	if (filter == NULL)
		filter = &all;
	sqlite3_stmt *st;
	/* The target filter goes through the three trace indexes, one UNION term each. */
	int rc = prepare(s, "SELECT id, start_us, vantage, sources, tool, tag, options, method, "
			    "n_traces, n_completed FROM runs "
			    "WHERE (?1 IS NULL OR id IN (SELECT run_id FROM traces WHERE target = ?1 "
			    "  UNION SELECT run_id FROM traces WHERE network = ?1 "
			    "  UNION SELECT run_id FROM traces WHERE dst = ?1)) "
			    "AND (?2 IS NULL OR tag = ?2) AND start_us >= ?3 "
			    "ORDER BY start_us DESC, id DESC LIMIT ?4", &st);
	if (rc != HW_OK)
		return rc;
	bind_text(st, 1, filter->target);
	bind_text(st, 2, filter->tag);
	sqlite3_bind_int64(st, 3, (int64_t)filter->since_unix_us);
	sqlite3_bind_int64(st, 4, filter->limit > 0 ? (int64_t)filter->limit : -1);
	int step;
	while (rc == HW_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		struct hw_run_summary r = {
			.id = sqlite3_column_int64(st, 0),
			.start_unix_us = (uint64_t)sqlite3_column_int64(st, 1),
			.vantage = (const char *)sqlite3_column_text(st, 2),
			.sources = (const char *)sqlite3_column_text(st, 3),
			.tool = (const char *)sqlite3_column_text(st, 4),
			.tag = (const char *)sqlite3_column_text(st, 5),
			.options = (const char *)sqlite3_column_text(st, 6),
			.method = (const char *)sqlite3_column_text(st, 7),
			.n_traces = (size_t)sqlite3_column_int64(st, 8),
			.n_completed = (size_t)sqlite3_column_int64(st, 9),
		};
		rc = cb(arg, &r);
	}
	if (rc == HW_OK && step != SQLITE_DONE)
		rc = db_fail(s, step, "listing runs");
	sqlite3_finalize(st);
	return rc;
}

int store_find_comparable(hw_store_t *s, int64_t *older, int64_t *newer)
{
	if (s == NULL || older == NULL || newer == NULL)
		return HW_ERR_INVAL;
	sqlite3_stmt *st;
	/* Newest first, each run's newest earlier run of the same key (runs_compare index). */
	int rc = prepare(s, "SELECT id, older FROM (SELECT a.id AS id, a.start_us AS start_us, "
			    " (SELECT b.id FROM runs b WHERE b.compare_key = a.compare_key "
			    "  AND (b.start_us < a.start_us OR (b.start_us = a.start_us AND b.id < a.id)) "
			    "  ORDER BY b.start_us DESC, b.id DESC LIMIT 1) AS older FROM runs a) "
			    "WHERE older IS NOT NULL ORDER BY start_us DESC, id DESC LIMIT 1", &st);
	if (rc != HW_OK)
		return rc;
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*newer = sqlite3_column_int64(st, 0);
		*older = sqlite3_column_int64(st, 1);
	} else if (step == SQLITE_DONE) {
		set_err(s->err, sizeof(s->err), "%s holds no two comparable runs (same targets, "
			"options and flow ids)", s->path);
		rc = HW_STORE_ERR_NOTFOUND;
	} else {
		rc = db_fail(s, step, "finding comparable runs");
	}
	sqlite3_finalize(st);
	return rc;
}

int store_comparable(hw_store_t *s, int64_t a, int64_t b)
{
	if (s == NULL)
		return HW_ERR_INVAL;
	sqlite3_stmt *st;
	int rc = prepare(s, "SELECT count(*), count(DISTINCT compare_key) FROM runs "
			    "WHERE id IN (?1, ?2)", &st);
	if (rc != HW_OK)
		return rc;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	int step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = db_fail(s, step, "comparing runs");
	} else if (sqlite3_column_int(st, 0) < (a == b ? 1 : 2)) {
		set_err(s->err, sizeof(s->err), "%s: no run %" PRId64 " or no run %" PRId64, s->path,
			a, b);
		rc = HW_STORE_ERR_NOTFOUND;
	} else {
		rc = sqlite3_column_int(st, 1) == 1;
	}
	sqlite3_finalize(st);
	return rc;
}
