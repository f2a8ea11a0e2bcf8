// fuzz-sources: src/targets.c src/textfile.c src/addr.c src/status.c
// fuzz-libs:
/*
 * libFuzzer target for the target-spec parser: the input is read as a file of targets
 * (targets_add_stream) and as one spec (targets_add), under options taken from its first
 * bytes. Beyond "never crash", it checks what the parser promises: an error leaves the
 * list as it was and says why in one printable line; every target is either a valid name
 * or an address, inside the network it stands for, never that network's own address (or
 * IPv4 broadcast) when it has hosts to pick from; the same input gives the same list.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fmemopen */
#endif
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hopwatch/addr.h>
#include <hopwatch/status.h>
#include <hopwatch/targets.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Options from the first 4 bytes; a small cap keeps every run fast. */
static size_t take_opts(const uint8_t *data, size_t size, struct hw_target_opts *o)
{
	targets_opts_default(o);
	o->max_targets = 512;
	if (size < 4)
		return 0;
	o->family = data[0] % 3 == 0 ? 0 : data[0] % 3 == 1 ? AF_INET : AF_INET6;
	o->pick = (data[0] >> 2) & 1 ? HW_PICK_RANDOM : HW_PICK_FIRST;
	o->split_v4 = (uint8_t)(data[1] % 33);
	o->split_v6 = (uint8_t)(data[2] % 129);
	o->seed = data[3];
	return 4;
}

static void check_err(const char *err)
{
	if (err[0] == '\0' || memchr(err, '\0', 256) == NULL)
		abort(); /* an error must say why */
	for (const char *p = err; *p; p++)
		if (!isprint((unsigned char)*p))
			abort(); /* one printable line */
}

static bool bit(const struct hw_addr *a, unsigned pos)
{
	return (a->a[pos / 8] >> (7 - pos % 8)) & 1;
}

/* The address is inside net/len, and not one we promise never to pick. */
static void check_inside(const struct hw_target *t)
{
	unsigned bits = (unsigned)hw_addr_len(&t->net) * 8;
	bool all0 = true, all1 = true;
	char text[HW_ADDRSTRLEN + 8], a[HW_ADDRSTRLEN];

	if (t->net.family != t->addr.family || t->net_len > bits)
		abort();
	snprintf(text, sizeof(text), "%s/%u", hw_addr_str(&t->net, a, sizeof(a)), t->net_len);
	if (strcmp(text, t->network) != 0)
		abort(); /* the text and the value disagree */
	for (unsigned pos = 0; pos < bits; pos++) {
		if (pos < t->net_len && bit(&t->addr, pos) != bit(&t->net, pos))
			abort(); /* outside its network */
		if (pos >= t->net_len && bit(&t->net, pos))
			abort(); /* a network with host bits */
		if (pos >= t->net_len) {
			all0 = all0 && !bit(&t->addr, pos);
			all1 = all1 && bit(&t->addr, pos);
		}
	}
	if (bits - t->net_len >= 2 && (all0 || (t->addr.family == AF_INET && all1)))
		abort(); /* the network address, or IPv4 broadcast */
}

/* Checks the targets from index `from` on (the ones added under o). */
static void check_list(const struct hw_target_list *list, size_t from,
		       const struct hw_target_opts *o)
{
	if (list->n > o->max_targets)
		abort();
	for (size_t i = from; i < list->n; i++) {
		const struct hw_target *t = &list->v[i];

		if (t->spec == NULL)
			abort();
		if (t->name != NULL) {
			if (!targets_name_valid(t->name) || !hw_addr_is_unset(&t->addr)
			    || t->network != NULL)
				abort();
			continue;
		}
		if (hw_addr_is_unset(&t->addr))
			abort();
		if (o->family != 0 && t->addr.family != o->family)
			abort();
		if (t->network != NULL)
			check_inside(t);
	}
}

static bool same_lists(const struct hw_target_list *x, const struct hw_target_list *y)
{
	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->v[i].spec, y->v[i].spec) != 0
		    || !(hw_addr_eq(&x->v[i].addr, &y->v[i].addr)
			 || (x->v[i].name && y->v[i].name)))
			return false;
	return true;
}

/* Reads the bytes as a file into a list holding one target already. */
static int as_file(const uint8_t *data, size_t size, const struct hw_target_opts *o,
		   struct hw_target_list *list)
{
	char err[256] = "";
	FILE *f;
	int rc;

	if (targets_add(list, "192.0.2.1", NULL, err, sizeof(err)) != HW_OK)
		abort();
	if (size == 0 || (f = fmemopen((void *)(uintptr_t)data, size, "r")) == NULL)
		return HW_OK;
	rc = targets_add_stream(list, f, "fuzz", o, err, sizeof(err));
	fclose(f);
	if (rc != HW_OK) {
		check_err(err);
		if (strncmp(err, "fuzz:", 5) != 0 || list->n != 1)
			abort(); /* names the file; takes back the whole file */
	}
	check_list(list, 1, o);
	return rc;
}

static void as_spec(const uint8_t *data, size_t size, const struct hw_target_opts *o)
{
	struct hw_target_list list = {0};
	char *spec = malloc(size + 1), err[256] = "";
	int rc;

	if (spec == NULL)
		return;
	memcpy(spec, data, size);
	spec[size] = '\0';
	rc = targets_add(&list, spec, o, err, sizeof(err));
	if (rc != HW_OK) {
		check_err(err);
		if (list.n != 0)
			abort();
	} else if (list.n == 0) {
		abort();
	}
	check_list(&list, 0, o);
	if (targets_name_valid(spec) && rc == HW_OK && list.v[0].name == NULL
	    && strchr(spec, '/') == NULL)
		abort(); /* a valid name must not also parse as an address */
	targets_free(&list);
	free(spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hw_target_opts o;
	struct hw_target_list a = {0}, b = {0};
	size_t skip = take_opts(data, size, &o);
	int rc1, rc2;

	data += skip;
	size -= skip;
	rc1 = as_file(data, size, &o, &a);
	rc2 = as_file(data, size, &o, &b);
	if (rc1 != rc2 || !same_lists(&a, &b))
		abort(); /* the same input, another list */
	targets_free(&a);
	targets_free(&b);
	as_spec(data, size, &o);
	return 0;
}
