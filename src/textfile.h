/*
 * Line-oriented text tables (pfx2as, AS names): a file read whole, its lines walked with
 * their numbers, and messages that quote a piece of a line safely.
 */
#ifndef HOPWATCH_TEXTFILE_H
#define HOPWATCH_TEXTFILE_H

#include <stdbool.h>
#include <stddef.h>

/* The longest piece of a line quoted in a message; longer ones are cut with "...". */
#define TEXTFILE_QUOTE_MAX 48

/* A walk over the lines of a text of known length (it may hold NUL bytes). */
struct textfile_cursor {
	const char *p, *end;
	size_t no; /* number of the line last returned, from 1 */
};

/* One line without its "\n" or "\r\n": [p, end). */
struct textfile_line {
	const char *p, *end;
	size_t no;
};

/* Starts a walk over len bytes of text. */
void textfile_begin(struct textfile_cursor *cur, const char *text, size_t len);

/* The next line into *line; false at the end of the text. */
bool textfile_next(struct textfile_cursor *cur, struct textfile_line *line);

/*
 * Reads a whole file into a fresh buffer (*text, NUL-terminated, *len bytes without the
 * NUL; free() it). HW_ERR_IO with "PATH: strerror" in err, or HW_ERR_NOMEM.
 */
int textfile_read(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* snprintf into err (nothing when err is NULL or errlen 0). */
void textfile_say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * [p, end) as it may appear in a message: bytes outside printable ASCII become '?' (a
 * file's control bytes must not reach the user's terminal), and a long piece is cut.
 */
const char *textfile_quote(const char *p, const char *end, char buf[TEXTFILE_QUOTE_MAX + 4]);

#endif
