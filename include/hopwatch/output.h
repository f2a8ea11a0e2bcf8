/* Writers of runs: traceroute-like text and the versioned JSON document. */
#ifndef HOPWATCH_OUTPUT_H
#define HOPWATCH_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include <hopwatch/run.h>

/* The JSON schema name and version written in every document. */
#define HW_JSON_SCHEMA "hopwatch-run"
#define HW_JSON_VERSION 1

/* Writes one trace as traceroute-like text (with its annotation, when it has some). */
int text_write_trace(const struct hw_trace *trace, FILE *out);

/*
 * text_write_trace, marking hops inside the ASes in transit[] (n_transit of them; the
 * user's --transit) and borders into or out of them.
 */
int text_write_trace_as(const struct hw_trace *trace, const uint32_t *transit,
			size_t n_transit, FILE *out);

/* Writes a run as one JSON document (docs/json.md); HW_ERR_IO on a write error. */
int json_write_run(const struct hw_run *run, FILE *out);

typedef struct hw_json_stream hw_json_stream_t;

/*
 * Starts a run document whose traces follow one by one as they finish (the run's own
 * traces are not written). NULL with *status set on failure. Memory holds one trace's
 * tree at a time; unlike json_write_run, a trace refused midway leaves the document
 * unfinished, and json_stream_close reports it.
 */
hw_json_stream_t *json_stream_open(const struct hw_run *run, FILE *out, int *status);

/* Appends one trace to the document. */
int json_stream_trace(hw_json_stream_t *stream, const struct hw_trace *trace);

/* Ends the document and frees the stream; the first error of the stream, or HW_OK. */
int json_stream_close(hw_json_stream_t *stream);

/*
 * Reads a run from a JSON document written by json_write_run. On failure returns < 0
 * and puts a one-line reason (with the JSON path or line) in err.
 */
int json_read_run(const char *text, size_t len, struct hw_run **out, char *err,
		  size_t errlen);

/*
 * One trace as a compact JSON object, the element of a run document's traces array
 * (what a store keeps per trace). *text is malloc'ed.
 */
int json_trace_dump(const struct hw_trace *trace, char **text);

/* Reads one trace object as json_trace_dump writes it; errors as json_read_run. */
int json_trace_load(const char *text, size_t len, struct hw_trace **out, char *err,
		    size_t errlen);

#endif
