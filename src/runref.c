/*
 * RUN arguments and the store's place: what every subcommand that reads runs shares.
 *
 * A RUN is a store reference when it looks like one: an id ("12"), "latest" or
 * "latest~N", even when a file of that name is in the current directory (./12 names the
 * file). Otherwise it is a JSON run file: "-" (standard input), a path with a '/', a name
 * ending in .json, or any other name that exists. The store lives in the invoking user's data
 * directory; under sudo that is SUDO_UID's, not root's, and what a trace creates there
 * is handed to that user.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hopwatch/output.h>
#include <hopwatch/status.h>
#include <hopwatch/store.h>

#include "cli.h"

#define STORE_SUBPATH "hopwatch/runs.db"

/* Root started by sudo: the invoking user's ids (as net_drop_privileges reads them). */
static bool sudo_user(uid_t *uid, gid_t *gid)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	long u, g;
	if (geteuid() != 0 || su == NULL || sg == NULL || cli_number(su, 1, INT32_MAX, &u) != 0 ||
	    cli_number(sg, 0, INT32_MAX, &g) != 0)
		return false;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return true;
}

static int fit(char *buf, size_t len, const char *a, const char *b)
{
	if ((size_t)snprintf(buf, len, "%s%s", a, b) >= len) {
		cli_error("store path too long: %s%s", a, b);
		return -1;
	}
	return 0;
}

int cli_store_path(const char *opt, char *buf, size_t len)
{
	if (opt != NULL)
		return fit(buf, len, opt, "");
	const char *env = getenv("HOPWATCH_STORE");
	if (env != NULL && *env != '\0')
		return fit(buf, len, env, "");
	uid_t uid;
	gid_t gid;
	if (sudo_user(&uid, &gid)) {
		struct passwd *pw = getpwuid(uid);
		if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/') {
			cli_error("no home directory for uid %u (SUDO_UID): use --store PATH",
				  (unsigned)uid);
			return -1;
		}
		return fit(buf, len, pw->pw_dir, "/.local/share/" STORE_SUBPATH);
	}
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg != NULL && xdg[0] == '/') /* the spec ignores relative paths */
		return fit(buf, len, xdg, "/" STORE_SUBPATH);
	const char *home = getenv("HOME");
	if (home == NULL || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());
		home = pw != NULL ? pw->pw_dir : NULL;
	}
	if (home == NULL || home[0] != '/') {
		cli_error("no home directory to keep the store in: use --store PATH or HOPWATCH_STORE");
		return -1;
	}
	return fit(buf, len, home, "/.local/share/" STORE_SUBPATH);
}

static hw_store_t *open_or_say(const char *path, unsigned flags)
{
	char err[600];
	int status;
	hw_store_t *s = store_open(path, flags, &status, err, sizeof(err));
	/* Readable but not writable (permissions, read-only media): read it without writing. */
	if (s == NULL && !(flags & HW_STORE_CREATE) &&
	    (status == HW_STORE_ERR_READONLY || status == HW_ERR_IO))
		s = store_open(path, flags | HW_STORE_READONLY, &status, err, sizeof(err));
	if (s == NULL)
		cli_error("store: %s", err[0] != '\0' ? err : store_strerror(status));
	return s;
}

hw_store_t *cli_store_open(const char *store_path)
{
	char path[4096];
	if (cli_store_path(store_path, path, sizeof(path)) != 0)
		return NULL;
	return open_or_say(path, 0);
}

/* Creates the missing directories above path (mode 0700), handing each to uid under sudo. */
static int make_parents(const char *path, bool sudo, uid_t uid, gid_t gid)
{
	char dir[4096];
	if (fit(dir, sizeof(dir), path, "") != 0)
		return -1;
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	struct stat sb;
	if (stat(dir, &sb) == 0)
		return 0;
	/* Each component from the top down, so we know which ones we made. */
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) == 0) {
			if (sudo && chown(dir, uid, gid) != 0) {
				cli_error("store: cannot give %s to uid %u: %s", dir, (unsigned)uid,
					  strerror(errno));
				return -1;
			}
		} else if (errno != EEXIST) {
			cli_error("store: cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

/* Hands a file SQLite made next to the database (-wal, -shm) to uid, if root has it. */
static void give_sidecar(const char *path, const char *suffix, uid_t uid, gid_t gid)
{
	char side[4200];
	struct stat sb;
	snprintf(side, sizeof(side), "%s%s", path, suffix);
	if (stat(side, &sb) == 0 && sb.st_uid == 0 && chown(side, uid, gid) != 0)
		cli_error("store: cannot give %s to uid %u: %s", side, (unsigned)uid, strerror(errno));
}

hw_store_t *cli_store_open_for_trace(const char *store_path)
{
	char path[4096];
	if (cli_store_path(store_path, path, sizeof(path)) != 0)
		return NULL;
	uid_t uid = 0;
	gid_t gid = 0;
	bool sudo = sudo_user(&uid, &gid);
	if (make_parents(path, sudo, uid, gid) != 0)
		return NULL;
	/* Created here, not by SQLite, so that it is the user's before the WAL files appear:
	 * SQLite run as root gives those the database's owner. */
	bool ours = false;
	if (sudo) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0) {
			ours = true;
			if (fchown(fd, uid, gid) != 0) {
				cli_error("store: cannot give %s to uid %u: %s", path, (unsigned)uid,
					  strerror(errno));
				close(fd);
				unlink(path);
				return NULL;
			}
			close(fd);
		}
	}
	hw_store_t *s = open_or_say(path, HW_STORE_CREATE);
	if (s == NULL && ours)
		unlink(path);
	if (s != NULL && sudo) {
		give_sidecar(path, "-wal", uid, gid);
		give_sidecar(path, "-shm", uid, gid);
	}
	return s;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool cli_is_store_ref(const char *spec)
{
	if (strncmp(spec, "latest", 6) == 0) {
		if (spec[6] == '\0')
			return true;
		if (spec[6] != '~' || spec[7] == '\0')
			return false;
		spec += 7;
	}
	if (*spec == '\0')
		return false;
	for (; *spec != '\0'; spec++)
		if (*spec < '0' || *spec > '9')
			return false;
	return true;
}

bool cli_is_run_file(const char *spec)
{
	struct stat sb;
	if (strcmp(spec, "-") == 0 || strchr(spec, '/') != NULL || ends_with(spec, ".json"))
		return true;
	/* "12" is run 12 even when a file of that name is here: ./12 names the file. */
	return !cli_is_store_ref(spec) && stat(spec, &sb) == 0;
}

int cli_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *what = is_stdin ? "standard input" : path;
	struct stat sb;

	*buf = NULL;
	*len = 0;
	/* Checked before opening: opening a device may itself do something. */
	if (!is_stdin && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode)) {
		cli_error("RUN '%s' %s", path, S_ISDIR(sb.st_mode) ? "is a directory"
								  : "is not a regular file or a pipe");
		return -1;
	}
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	/* Room for one byte more than the file has (or than max): the read that sees the
	   end, or the byte too many. */
	size_t cap = 65536, n = 0;
	bool too_big = false;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		too_big = (uintmax_t)sb.st_size > max;
		cap = (size_t)sb.st_size + 1;
	}
	if (cap > max + 1)
		cap = max + 1;
	char *b = NULL;
	const char *why = NULL;
	while (!too_big) {
		if (b == NULL || n == cap) {
			if (b != NULL && cap > max) {
				too_big = true;
				break;
			}
			size_t want = b == NULL ? cap : cap > (max + 1) / 2 ? max + 1 : cap * 2;
			char *nb = realloc(b, want + 1);
			if (nb == NULL) {
				why = "out of memory";
				break;
			}
			b = nb;
			cap = want;
		}
		ssize_t got = read(fd, b + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			why = strerror(errno);
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	if (!is_stdin)
		close(fd);
	if (too_big) {
		char size[32];
		if (max >= (1u << 30) && max % (1u << 30) == 0)
			snprintf(size, sizeof(size), "%zu GiB", max >> 30);
		else if (max >= (1u << 20) && max % (1u << 20) == 0)
			snprintf(size, sizeof(size), "%zu MiB", max >> 20);
		else
			snprintf(size, sizeof(size), "%zu bytes", max);
		cli_error("RUN '%s' is larger than a run file may be (%s)", what, size);
	}
	else if (why != NULL)
		cli_error("cannot read %s: %s", what, why);
	if (too_big || why != NULL) {
		free(b);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static struct hw_run *load_file(const char *path)
{
	size_t len;
	char *text;
	if (cli_read_file(path, CLI_RUN_FILE_MAX, &text, &len) != 0)
		return NULL;
	char err[256];
	struct hw_run *run = NULL;
	if (json_read_run(text, len, &run, err, sizeof(err)) != HW_OK) {
		cli_error("%s: %s", strcmp(path, "-") == 0 ? "standard input" : path, err);
		run = NULL;
	}
	free(text);
	return run;
}

/* The store id a spec names ("12", "latest", "latest~3"); -1 after cli_error. */
static int resolve_id(hw_store_t *s, const char *spec, int64_t *id)
{
	long n = 0;
	if (strncmp(spec, "latest", 6) == 0 &&
	    (spec[6] == '\0' || (spec[6] == '~' && cli_number(spec + 7, 0, 1000000, &n) == 0))) {
		if (store_latest(s, (unsigned)n, id) != HW_OK) {
			cli_error("%s", store_errmsg(s));
			return -1;
		}
		return 0;
	}
	long v;
	if (cli_number(spec, 1, LONG_MAX, &v) == 0) {
		*id = v;
		return 0;
	}
	cli_error("RUN '%s' is not a run id, latest, latest~N or a JSON run file", spec);
	return -1;
}

struct hw_run *cli_load_run(const char *spec, const char *store_path)
{
	if (cli_is_run_file(spec))
		return load_file(spec);
	hw_store_t *s = cli_store_open(store_path);
	if (s == NULL)
		return NULL;
	int64_t id;
	struct hw_run *run = NULL;
	if (resolve_id(s, spec, &id) == 0 && store_load_run(s, id, &run) != HW_OK) {
		struct stat sb;
		/* The rule may surprise whoever meant a file called 12: say how to name it. */
		if (stat(spec, &sb) == 0)
			cli_error("%s (the file %s here is ./%s)", store_errmsg(s), spec, spec);
		else
			cli_error("%s", store_errmsg(s));
		run = NULL;
	}
	store_close(s);
	return run;
}

int cli_latest_pair(const char *store_path, struct hw_run **older, struct hw_run **newer)
{
	*older = *newer = NULL;
	hw_store_t *s = cli_store_open(store_path);
	if (s == NULL)
		return -1;
	int64_t a, b;
	int rc = store_find_comparable(s, &a, &b);
	if (rc == HW_STORE_ERR_NOTFOUND)
		cli_error("need two comparable runs: %s", store_errmsg(s));
	else if (rc != HW_OK)
		cli_error("%s", store_errmsg(s));
	else if ((rc = store_load_run(s, a, older)) != HW_OK ||
		 (rc = store_load_run(s, b, newer)) != HW_OK)
		cli_error("%s", store_errmsg(s));
	store_close(s);
	if (rc != HW_OK) {
		*older = run_free(*older);
		*newer = run_free(*newer);
		return -1;
	}
	return 0;
}
