/* Writers of runs: traceroute-like text and the versioned JSON document. */
#ifndef HOPWATCH_OUTPUT_H
#define HOPWATCH_OUTPUT_H

#include <stdio.h>

#include <hopwatch/run.h>

/* The JSON schema name and version written in every document. */
#define HW_JSON_SCHEMA "hopwatch-run"
#define HW_JSON_VERSION 1

/* Writes one trace as traceroute-like text. */
int text_write_trace(const struct hw_trace *trace, FILE *out);

/* Writes a run as one JSON document (docs/json.md); HW_ERR_IO on a write error. */
int json_write_run(const struct hw_run *run, FILE *out);

/*
 * Reads a run from a JSON document written by json_write_run. On failure returns < 0
 * and puts a one-line reason (with the JSON path or line) in err.
 */
int json_read_run(const char *text, size_t len, struct hw_run **out, char *err,
		  size_t errlen);

#endif
