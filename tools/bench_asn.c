/*
 * Benchmark driver for the origin-AS table (run by tools/bench-asn): writes a synthetic
 * full-size pfx2as file, loads it (median of 3), and times lookups and memory.
 *
 * usage: bench_asn [V4 V6 LOOKUPS SEED]   (defaults 900000 100000 2000000 1)
 *
 * The table imitates a routeviews one: announcements fall in allocation blocks (/12../24
 * for IPv4, /19../40 for IPv6), each announced whole or as a more-specific of the usual
 * length (/24 most, then /22, /23, /21 ... for IPv4; /48, then /32, /44, /40 ... for
 * IPv6), so more-specifics nest and cluster; AS numbers are skewed (a few large networks
 * announce many prefixes); about 1 % are multi-origin. The file is written sorted, as
 * CAIDA ships it, and once more shuffled (the worst order for caches).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hopwatch/asn.h>
#include <hopwatch/status.h>

static uint64_t rng = 1;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1du;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A length drawn from a cumulative table of (length, per-mille) pairs. */
static unsigned pick_len(const unsigned (*dist)[2], size_t n)
{
	unsigned r = (unsigned)(rnd() % 1000), acc = 0;

	for (size_t i = 0; i < n; i++) {
		acc += dist[i][1];
		if (r < acc)
			return dist[i][0];
	}
	return dist[n - 1][0];
}

static const unsigned len4[][2] = {
	{8, 1}, {10, 1}, {12, 3}, {13, 3}, {14, 5}, {15, 6}, {16, 20}, {17, 12}, {18, 20},
	{19, 30}, {20, 50}, {21, 55}, {22, 110}, {23, 90}, {24, 594},
};
static const unsigned len6[][2] = {
	{19, 2}, {20, 3}, {24, 5}, {28, 10}, {29, 40}, {32, 150}, {33, 10}, {34, 10},
	{35, 5}, {36, 30}, {40, 60}, {42, 10}, {44, 65}, {45, 10}, {46, 20}, {47, 20},
	{48, 550},
};

/* Skewed AS numbers: a few big networks, a long tail of small ones. */
static uint32_t pick_as(void)
{
	uint64_t r = rnd() % 1000;

	if (r < 300)
		return 1 + (uint32_t)(rnd() % 500);
	if (r < 700)
		return 1 + (uint32_t)(rnd() % 20000);
	if (r < 900)
		return 20000 + (uint32_t)(rnd() % 45000);
	return 131072 + (uint32_t)(rnd() % 270000);
}

static void random_bits(struct hw_addr *a, unsigned from, unsigned to)
{
	for (unsigned b = from; b < to; b++)
		if (rnd() & 1)
			a->a[b / 8] |= (uint8_t)(0x80u >> (b % 8));
		else
			a->a[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
}

/* Allocation blocks: the sizes registries hand out (length, per-mille). */
static const unsigned block4[][2] = {
	{12, 10}, {13, 10}, {14, 20}, {15, 30}, {16, 150}, {17, 60}, {18, 80}, {19, 100},
	{20, 140}, {21, 100}, {22, 250}, {23, 30}, {24, 20},
};
static const unsigned block6[][2] = {
	{19, 5}, {20, 5}, {24, 10}, {28, 30}, {29, 300}, {30, 50}, {32, 550}, {36, 20}, {40, 30},
};

struct entry {
	struct hw_addr a;
	unsigned len;
	uint32_t as[2];
};

static void make_blocks(struct hw_addr *b, unsigned *blen, size_t n, int family)
{
	for (size_t i = 0; i < n; i++) {
		b[i].family = (uint8_t)family;
		if (family == AF_INET) {
			blen[i] = pick_len(block4, sizeof(block4) / sizeof(block4[0]));
			b[i].a[0] = (uint8_t)(1 + rnd() % 223);
			random_bits(&b[i], 8, blen[i]);
		} else {
			blen[i] = pick_len(block6, sizeof(block6) / sizeof(block6[0]));
			b[i].a[0] = (uint8_t)(0x20 + rnd() % 12);
			random_bits(&b[i], 8, blen[i]);
		}
	}
}

/*
 * One announcement: a block, announced whole or as a more-specific of the usual length
 * inside it (more-specifics cluster in the blocks, as in the real table).
 */
static struct entry make_entry(int family, const struct hw_addr *blocks, const unsigned *blen,
			       size_t n_blocks)
{
	struct entry e;
	size_t b = rnd() % n_blocks;
	unsigned bits = family == AF_INET ? 32 : 128;

	e.a = blocks[b];
	e.len = family == AF_INET ? pick_len(len4, sizeof(len4) / sizeof(len4[0]))
				  : pick_len(len6, sizeof(len6) / sizeof(len6[0]));
	if (e.len < blen[b])
		e.len = blen[b];
	random_bits(&e.a, blen[b], e.len);
	for (unsigned k = e.len; k < bits; k++)
		e.a.a[k / 8] &= (uint8_t) ~(0x80u >> (k % 8));
	e.as[0] = pick_as();
	e.as[1] = rnd() % 100 == 0 ? pick_as() : 0; /* about 1 % multi-origin */
	return e;
}

/* As CAIDA sorts its files: by family, address, length. */
static int cmp_entry(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	int c;

	if (a->a.family != b->a.family)
		return a->a.family < b->a.family ? -1 : 1;
	if ((c = memcmp(a->a.a, b->a.a, 16)) != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static struct entry *make_table(size_t n4, size_t n6)
{
	size_t nb4 = n4 / 8 + 1, nb6 = n6 / 6 + 1;
	struct entry *v = calloc(n4 + n6, sizeof(*v));
	struct hw_addr *b4 = calloc(nb4, sizeof(*b4)), *b6 = calloc(nb6, sizeof(*b6));
	unsigned *l4 = calloc(nb4, sizeof(*l4)), *l6 = calloc(nb6, sizeof(*l6));

	if (v == NULL || b4 == NULL || b6 == NULL || l4 == NULL || l6 == NULL)
		return NULL;
	make_blocks(b4, l4, nb4, AF_INET);
	make_blocks(b6, l6, nb6, AF_INET6);
	for (size_t i = 0; i < n4 + n6; i++)
		v[i] = i < n4 ? make_entry(AF_INET, b4, l4, nb4) : make_entry(AF_INET6, b6, l6, nb6);
	free(b4);
	free(b6);
	free(l4);
	free(l6);
	return v;
}

static int write_table(const char *path, const struct entry *v, size_t n)
{
	FILE *f = fopen(path, "w");
	char buf[HW_ADDRSTRLEN];

	if (f == NULL)
		return -1;
	fprintf(f, "# synthetic pfx2as table for tools/bench-asn\n");
	for (size_t i = 0; i < n; i++) {
		if (v[i].as[1] != 0)
			fprintf(f, "%s\t%u\t%u_%u\n", hw_addr_str(&v[i].a, buf, sizeof(buf)), v[i].len,
				v[i].as[0], v[i].as[1]);
		else
			fprintf(f, "%s\t%u\t%u\n", hw_addr_str(&v[i].a, buf, sizeof(buf)), v[i].len,
				v[i].as[0]);
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* Lookups per second over addrs[0..n), and how many found an origin. */
static double time_lookups(const hw_asn_table_t *t, const struct hw_addr *addrs, size_t n,
			   size_t *found)
{
	uint32_t o[HW_ORIGINS_MAX];
	uint64_t sum = 0;
	double t0 = now();

	*found = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned k = asn_table_lookup(t, &addrs[i], o, NULL);

		*found += k != 0;
		sum += k ? o[0] : 0;
	}
	double dt = now() - t0;
	if (sum == 1) /* keeps the loop from being optimised away */
		putchar(' ');
	return (double)n / dt;
}

/* Loads path 3 times: the median time; the first table is kept in *keep with its RSS growth. */
static double time_load(const char *path, hw_asn_table_t **keep, long *rss_delta)
{
	double times[3];
	char err[256];

	for (int i = 0; i < 3; i++) {
		long rss0 = rss_kib();
		hw_asn_table_t *t = asn_table_new();
		double t0 = now();

		if (t == NULL || asn_table_load(t, path, err, sizeof(err)) != HW_OK) {
			fprintf(stderr, "bench_asn: %s\n", err);
			exit(1);
		}
		times[i] = now() - t0;
		if (keep != NULL && *keep == NULL) {
			*keep = t;
			*rss_delta = rss_kib() - rss0;
		} else {
			asn_table_free(t);
		}
	}
	qsort(times, 3, sizeof(times[0]), cmp_double);
	return times[1];
}

int main(int argc, char **argv)
{
	size_t n4 = argc > 1 ? strtoul(argv[1], NULL, 10) : 900000;
	size_t n6 = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	size_t n_look = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000000, n = n4 + n6;
	char sorted[] = "/tmp/bench_asn_XXXXXX", shuffled[] = "/tmp/bench_asn_XXXXXX";
	hw_asn_table_t *keep = NULL;
	struct entry *v;
	long rss = 0;
	int fd1, fd2;

	rng = argc > 4 ? strtoull(argv[4], NULL, 10) * 0x9e3779b97f4a7c15u + 1 : 1;
	if ((v = make_table(n4, n6)) == NULL)
		return 1;
	qsort(v, n, sizeof(*v), cmp_entry);
	/* Blocks are drawn again and again: keep each prefix once, draw more till n are distinct. */
	for (size_t distinct = 0;;) {
		size_t k = 0, m4 = 0, m6 = 0;

		for (size_t i = 0; i < n; i++)
			if (k == 0 || cmp_entry(&v[k - 1], &v[i]) != 0)
				v[k++] = v[i];
		if ((distinct = k) == n)
			break;
		for (size_t i = 0; i < k; i++)
			*(v[i].a.family == AF_INET ? &m4 : &m6) += 1;
		struct entry *more = make_table(n4 > m4 ? n4 - m4 : 0, n6 > m6 ? n6 - m6 : 0);
		if (more == NULL)
			return 1;
		memcpy(v + k, more, (n - k) * sizeof(*v));
		free(more);
		qsort(v, n, sizeof(*v), cmp_entry);
	}
	if ((fd1 = mkstemp(sorted)) < 0 || close(fd1) < 0 || write_table(sorted, v, n) < 0 ||
	    (fd2 = mkstemp(shuffled)) < 0 || close(fd2) < 0) {
		perror("bench_asn: writing the table");
		return 1;
	}
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd() % i;
		struct entry x = v[i - 1];

		v[i - 1] = v[j];
		v[j] = x;
	}
	if (write_table(shuffled, v, n) < 0) {
		perror("bench_asn: writing the table");
		return 1;
	}

	double t_sorted = time_load(sorted, &keep, &rss);
	double t_shuffled = time_load(shuffled, NULL, NULL);
	unlink(sorted);
	unlink(shuffled);

	size_t size = asn_table_size(keep), bytes = asn_table_bytes(keep);
	printf("table: %zu lines (%zu IPv4 + %zu IPv6), %zu distinct prefixes\n", n, n4, n6, size);
	printf("load (read + parse + insert), median of 3: %.3f s sorted as CAIDA ships it "
	       "(%.0f ns/line), %.3f s shuffled\n", t_sorted, t_sorted * 1e9 / (double)n, t_shuffled);
	printf("memory: %zu bytes counted = %.1f MiB = %.1f bytes/prefix; RSS growth %.1f MiB\n",
	       bytes, (double)bytes / 1048576.0, (double)bytes / (double)size,
	       (double)rss / 1024.0);

	/* Addresses: uniformly random IPv4 (some miss), and random hosts of table prefixes. */
	struct hw_addr *addrs = calloc(n_look, sizeof(*addrs));
	struct hw_addr *in4 = calloc(n4 + 1, sizeof(*in4)), *in6 = calloc(n6 + 1, sizeof(*in6));
	size_t ni4 = 0, ni6 = 0;

	if (addrs == NULL || in4 == NULL || in6 == NULL)
		return 1;
	for (size_t i = 0; i < n; i++) {
		struct hw_addr x = v[i].a;

		random_bits(&x, v[i].len, x.family == AF_INET ? 32 : 128);
		if (x.family == AF_INET)
			in4[ni4++] = x;
		else
			in6[ni6++] = x;
	}
	struct {
		const char *what;
		const struct hw_addr *pool;
		size_t n;
	} runs[] = {
		{"IPv4, uniform random addresses", NULL, 0},
		{"IPv4, random hosts of table prefixes", in4, ni4},
		{"IPv6, random hosts of table prefixes", in6, ni6},
	};
	for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		size_t found = 0;
		double best = 0;

		if (runs[r].pool != NULL && runs[r].n == 0)
			continue;
		for (size_t i = 0; i < n_look; i++) {
			if (runs[r].pool == NULL) {
				uint32_t x = (uint32_t)rnd();

				hw_addr_set(&addrs[i], AF_INET, &x);
			} else {
				addrs[i] = runs[r].pool[rnd() % runs[r].n];
			}
		}
		for (int k = 0; k < 3; k++) {
			double rate = time_lookups(keep, addrs, n_look, &found);

			best = rate > best ? rate : best;
		}
		printf("lookups, %s: %.2f M/s (%zu lookups, %.1f %% found; best of 3)\n",
		       runs[r].what, best / 1e6, n_look, 100.0 * (double)found / (double)n_look);
	}
	free(addrs);
	free(in4);
	free(in6);
	free(v);
	asn_table_free(keep);
	return 0;
}
