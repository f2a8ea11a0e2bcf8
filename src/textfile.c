/* Line-oriented text tables: reading a file whole, walking its lines, quoting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/status.h>

#include "textfile.h"

void textfile_begin(struct textfile_cursor *cur, const char *text, size_t len)
{
	cur->p = text;
	cur->end = text + len;
	cur->no = 0;
}

bool textfile_next(struct textfile_cursor *cur, struct textfile_line *line)
{
	const char *nl;

	if (cur->p >= cur->end)
		return false;
	nl = memchr(cur->p, '\n', (size_t)(cur->end - cur->p));
	line->p = cur->p;
	line->end = nl ? nl : cur->end;
	cur->p = nl ? nl + 1 : cur->end;
	/* Files written on Windows end their lines with "\r\n". */
	if (line->end > line->p && line->end[-1] == '\r')
		line->end--;
	line->no = ++cur->no;
	return true;
}

int textfile_read(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0, cap = 1 << 16;
	char *buf;

	*text = NULL;
	*len = 0;
	if (f == NULL) {
		textfile_say(err, errlen, "%s: %s", path, strerror(errno));
		return HW_ERR_IO;
	}
	/* Read to the end rather than trust a size from stat: pipes and /proc files have none. */
	buf = malloc(cap + 1);
	while (buf != NULL) {
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (n < cap)
			break;
		char *bigger = realloc(buf, cap * 2 + 1);
		if (bigger == NULL) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	if (buf == NULL) {
		fclose(f);
		textfile_say(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return HW_ERR_NOMEM;
	}
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		free(buf);
		textfile_say(err, errlen, "%s: %s", path, strerror(e ? e : EIO));
		return HW_ERR_IO;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return HW_OK;
}

void textfile_say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *textfile_quote(const char *p, const char *end, char buf[TEXTFILE_QUOTE_MAX + 4])
{
	size_t i;

	for (i = 0; p + i < end && i < TEXTFILE_QUOTE_MAX; i++)
		buf[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
	if (p + i < end) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}
