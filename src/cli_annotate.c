/*
 * The annotation options `hopwatch trace` and `hopwatch annotate` share: what to ask,
 * where, and which local tables to load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hopwatch/annotate.h>
#include <hopwatch/cymru.h>
#include <hopwatch/resolve.h>
#include <hopwatch/status.h>

#include "cli.h"

#define TRANSIT_MAX 64

void annotate_cli_init(struct annotate_cli *c)
{
	memset(c, 0, sizeof(*c));
	annotate_opts_default(&c->opts);
}

const char annotate_cli_usage[] =
	"  -n                no PTR names (AS lookups stay on: add --no-asn, or --no-dns)\n"
	"  --no-asn          no origin AS or AS names over DNS (names, local tables still apply)\n"
	"  --no-dns          no annotation DNS at all: -n and --no-asn (local tables still apply)\n"
	"  --asn-table FILE  origin ASes from a CAIDA pfx2as table (first choice)\n"
	"  --as-names FILE   AS names from CAIDA as-org2info or 'asn|name' lines\n"
	"  --asn-zone ZONE   Team Cymru-format DNS zone (" CYMRU_ZONE ")\n"
	"  --transit ASN[,ASN]  ASes to watch: hops inside them and their borders are marked\n"
	"  --dns-server ADDR[:PORT]  ask that DNS server instead of the system's\n"
	"  --dns-timeout S   give up on one DNS question after S seconds (5)\n";

int cli_parse_transit(const char *text, uint32_t *out, size_t max, size_t *n)
{
	const char *p = text;

	*n = 0;
	while (*p != '\0') {
		char buf[16], *end;
		size_t len = strcspn(p, ",");
		const char *num = p;
		if (len >= 2 && (p[0] == 'A' || p[0] == 'a') && (p[1] == 'S' || p[1] == 's')) {
			num += 2;
			len -= 2;
		}
		if (len == 0 || len >= sizeof(buf) || *n == max)
			return -1;
		memcpy(buf, num, len);
		buf[len] = '\0';
		errno = 0;
		unsigned long long v = strtoull(buf, &end, 10);
		if (errno != 0 || *end != '\0' || buf[0] < '0' || buf[0] > '9' || v == 0 || v > UINT32_MAX)
			return -1;
		for (size_t i = 0; i < *n; i++)
			if (out[i] == v)
				return -1;
		out[(*n)++] = (uint32_t)v;
		p = num + len;
		if (*p == ',' && *++p == '\0')
			return -1;
	}
	return *n > 0 ? 0 : -1;
}

/* "4837,AS131279": distinct ASes, 1..TRANSIT_MAX of them. */
static int parse_transit(const char *text, struct annotate_cli *c)
{
	free(c->transit);
	c->transit = calloc(TRANSIT_MAX, sizeof(*c->transit));
	c->n_transit = 0;
	if (c->transit == NULL)
		return -1;
	return cli_parse_transit(text, c->transit, TRANSIT_MAX, &c->n_transit);
}

int annotate_cli_option(struct annotate_cli *c, int opt, const char *arg)
{
	switch (opt) {
	case 'n':
		/* As traceroute and mtr: addresses, not names. */
		c->opts.names = false;
		return 1;
	case ACLI_NO_ASN:
		c->opts.asn_dns = false;
		return 1;
	case ACLI_NO_DNS:
		c->opts.names = false;
		c->opts.asn_dns = false;
		return 1;
	case ACLI_ASN_TABLE:
		c->asn_table_path = arg;
		return 1;
	case ACLI_AS_NAMES:
		c->as_names_path = arg;
		return 1;
	case ACLI_ASN_ZONE:
		if (!cymru_zone_ok(arg)) {
			cli_error("--asn-zone: '%s' is not a DNS zone name", arg);
			return -1;
		}
		c->opts.asn_zone = arg;
		return 1;
	case ACLI_TRANSIT:
		if (parse_transit(arg, c) != 0) {
			cli_error("--transit: '%s' is not a list of distinct AS numbers (4837,AS131279)", arg);
			return -1;
		}
		return 1;
	case ACLI_DNS_SERVER:
		/* Checked even when no DNS is wanted: a typo is said at once, not on the day
		   DNS is turned back on. */
		if (!resolver_server_ok(arg)) {
			cli_error("--dns-server: '%s' is not ADDR, ADDR:PORT or [IPV6]:PORT", arg);
			return -1;
		}
		c->opts.dns_server = arg;
		return 1;
	case ACLI_DNS_TIMEOUT:
		if (cli_double(arg, 0.1, 60, &c->opts.dns_timeout) != 0) {
			cli_error("--dns-timeout: '%s' is not 0.1..60 seconds", arg);
			return -1;
		}
		return 1;
	default:
		return 0;
	}
}

int annotate_cli_load(struct annotate_cli *c)
{
	char err[512];
	int rc;

	if (c->asn_table_path != NULL) {
		if ((c->table = asn_table_new()) == NULL) {
			cli_error("out of memory");
			return -1;
		}
		if ((rc = asn_table_load(c->table, c->asn_table_path, err, sizeof(err))) != HW_OK) {
			cli_error("--asn-table: %s", err[0] != '\0' ? err : hw_strerror(rc));
			return -1;
		}
		c->opts.asn_table = c->table;
	}
	if (c->as_names_path != NULL) {
		if ((c->names = as_names_new()) == NULL) {
			cli_error("out of memory");
			return -1;
		}
		if ((rc = as_names_load(c->names, c->as_names_path, err, sizeof(err))) != HW_OK) {
			cli_error("--as-names: %s", err[0] != '\0' ? err : hw_strerror(rc));
			return -1;
		}
		c->opts.as_names = c->names;
	}
	return 0;
}

hw_annotator_t *annotate_cli_open(struct annotate_cli *c, hw_loop_t *loop)
{
	int st;
	hw_annotator_t *a = annotator_open(loop, &c->opts, &st);

	if (a == NULL)
		cli_error("cannot start annotation%s%s: %s", c->opts.dns_server ? " with DNS server " : "",
			  c->opts.dns_server ? c->opts.dns_server : "", hw_strerror(st));
	return a;
}

int annotate_cli_transit(const struct annotate_cli *c, struct hw_run *run)
{
	if (c->n_transit == 0)
		return 0;
	free(run->transit);
	run->n_transit = 0;
	if ((run->transit = malloc(c->n_transit * sizeof(*run->transit))) == NULL) {
		cli_error("out of memory");
		return -1;
	}
	memcpy(run->transit, c->transit, c->n_transit * sizeof(*run->transit));
	run->n_transit = c->n_transit;
	return 0;
}

void annotate_cli_stats(const struct hw_annotate_stats *st)
{
	const struct hw_annotate_stats s = *st;

	fprintf(stderr,
		"annotate: addresses=%llu cache_hits=%llu ptr=%llu origin=%llu asname=%llu "
		"answered=%llu failed=%llu%s%s\n",
		(unsigned long long)s.addresses, (unsigned long long)s.cache_hits,
		(unsigned long long)s.ptr_queries, (unsigned long long)s.origin_queries,
		(unsigned long long)s.asname_queries, (unsigned long long)s.answered,
		(unsigned long long)s.failed, s.gave_up_ptr ? " ptr_given_up" : "",
		s.gave_up_asn ? " asn_given_up" : "");
}

void annotate_cli_free(struct annotate_cli *c)
{
	asn_table_free(c->table);
	as_names_free(c->names);
	free(c->transit);
	c->table = NULL;
	c->names = NULL;
	c->transit = NULL;
}
