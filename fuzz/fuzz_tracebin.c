// fuzz-sources: src/tracebin.c src/json.c src/aspath.c src/run.c src/info.c src/addr.c src/status.c src/probe.c
// fuzz-libs: -ljansson
/*
 * libFuzzer target for tracebin_decode (the store's trace encoding). Beyond "never
 * crash, never allocate from a count the bytes cannot back" (libFuzzer's malloc limit
 * catches that), it checks the decoder and encoder agree and the decoder holds the JSON
 * reader's rules: whatever decodes re-encodes, decodes again to the same trace (same
 * JSON), encodes again to the same bytes, and its JSON is what the JSON reader takes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/output.h>
#include <hopwatch/status.h>
#include <hopwatch/tracebin.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *json_of(const struct hw_trace *t)
{
	char *text = NULL;
	if (json_trace_dump(t, &text) != HW_OK)
		abort(); /* the decoder built a trace the JSON writer refuses */
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hw_trace *t = NULL, *again = NULL, *json = NULL;
	uint8_t *bin1 = NULL, *bin2 = NULL;
	size_t len1, len2;
	char err[256];

	int rc = tracebin_decode(data, size, &t, err, sizeof(err));
	if (rc != HW_OK) {
		if (t != NULL || memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort(); /* a failure must leave no trace and say why */
		if (rc != HW_ERR_TRUNCATED && rc != HW_ERR_MALFORMED && rc != HW_ERR_UNSUPPORTED)
			abort();
		return 0;
	}
	if (tracebin_encode(t, &bin1, &len1, err, sizeof(err)) != HW_OK)
		abort(); /* the decoder accepted what the encoder refuses */
	if (tracebin_decode(bin1, len1, &again, err, sizeof(err)) != HW_OK)
		abort(); /* the encoder wrote what the decoder refuses */
	char *doc1 = json_of(t), *doc2 = json_of(again);
	if (strcmp(doc1, doc2) != 0)
		abort(); /* a round trip changed the trace */
	if (tracebin_encode(again, &bin2, &len2, err, sizeof(err)) != HW_OK || len1 != len2 ||
	    memcmp(bin1, bin2, len1) != 0)
		abort(); /* encoding is not stable */
	if (json_trace_load(doc1, strlen(doc1), &json, err, sizeof(err)) != HW_OK)
		abort(); /* the decoder let through what the JSON reader refuses */
	trace_free(json);
	free(doc1);
	free(doc2);
	free(bin1);
	free(bin2);
	trace_free(again);
	trace_free(t);
	return 0;
}
