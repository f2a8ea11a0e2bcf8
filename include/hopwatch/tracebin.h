/*
 * One trace as compact, versioned bytes: what the run store keeps per trace
 * (docs/store.md, "Trace encoding"). It carries everything a trace's JSON object carries
 * (docs/json.md) and the annotation (trace->infos), at about a tenth of the size, and
 * reads back without a parser: a 10 000-trace run loads in tens of milliseconds.
 *
 * Values the JSON rounds are rounded the same way (RTTs and durations to the
 * microsecond), and what the JSON leaves out of a single-flow trace (reply flow ids,
 * links, diamonds) is left out too, so json_trace_dump of a decoded trace equals
 * json_trace_dump of the trace that was encoded.
 *
 * The decoder reads every byte through bounds checks, checks each count against the
 * bytes left before allocating for it, and holds decoded values to the rules the JSON
 * reader enforces (TTL ranges, hops[i].ttl == first_ttl + i, attempts below the hop's
 * probes, link and diamond TTLs, sorted distinct annotation entries...). The encoder
 * holds its input to the same rules, so whatever it writes reads back.
 */
#ifndef HOPWATCH_TRACEBIN_H
#define HOPWATCH_TRACEBIN_H

#include <stddef.h>
#include <stdint.h>

#include <hopwatch/run.h>

/* The encoding version this library writes (byte 4, after the magic "HWtr"). */
#define HW_TRACEBIN_VERSION 1

/* The 4 bytes every encoded trace starts with. */
#define HW_TRACEBIN_MAGIC "HWtr"

/*
 * Encodes a trace into *out (malloc'ed, *len bytes). HW_ERR_INVAL for a trace the
 * format (and the JSON reader) would refuse: an unset destination or reply address, an
 * address of the other family, a non-finite or negative RTT, a TTL out of its range,
 * an attempt not below its hop's probes, invalid UTF-8... with a one-line reason in err
 * (may be NULL). *out is NULL on failure.
 */
int tracebin_encode(const struct hw_trace *trace, uint8_t **out, size_t *len, char *err,
		    size_t errlen);

/*
 * Decodes bytes written by tracebin_encode into a new trace (*out; trace_free it).
 * HW_ERR_TRUNCATED when the bytes end early, HW_ERR_MALFORMED for a bad magic, value or
 * trailing bytes, HW_ERR_UNSUPPORTED for a newer encoding version, HW_ERR_NOMEM; on
 * failure *out is NULL and err (may be NULL) says what and where, e.g.
 * "hops[2].replies[1].attempt: 3 is not below the hop's probes_sent (3)".
 */
int tracebin_decode(const uint8_t *buf, size_t len, struct hw_trace **out, char *err,
		    size_t errlen);

#endif
