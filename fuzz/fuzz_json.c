// fuzz-sources: src/json.c src/run.c src/info.c src/aspath.c src/addr.c src/status.c src/probe.c
// fuzz-libs: -ljansson
/*
 * libFuzzer target for json_read_run. Beyond "never crash", it checks the reader and
 * writer agree: whatever the reader accepts, the writer writes, the reader reads that
 * back, and writing again gives the same bytes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/output.h>
#include <hopwatch/status.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The document json_write_run makes of run; aborts when it refuses. */
static char *write_doc(const struct hw_run *run, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f == NULL)
		abort();
	if (json_write_run(run, f) != HW_OK)
		abort(); /* the reader accepted something the writer cannot hold */
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hw_run *run = NULL, *again = NULL;
	char err[256];
	size_t len1, len2;

	if (json_read_run((const char *)data, size, &run, err, sizeof(err)) != HW_OK) {
		if (run != NULL || memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort(); /* a failure must leave no run and say why */
		return 0;
	}
	char *doc1 = write_doc(run, &len1);
	if (json_read_run(doc1, len1, &again, err, sizeof(err)) != HW_OK)
		abort(); /* the writer wrote something the reader refuses */
	char *doc2 = write_doc(again, &len2);
	if (len1 != len2 || memcmp(doc1, doc2, len1) != 0)
		abort(); /* a round trip changed the run */
	free(doc1);
	free(doc2);
	run_free(again);
	run_free(run);
	return 0;
}
