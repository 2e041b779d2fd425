/* stats.h: what every consumer measures, the same way: records received,
 * delivery latency (receipt minus the kernel's bpf_ktime_get_ns() stamp) in
 * a 1 µs histogram, and when the last record arrived. A record counts as
 * received when the poll call that delivered it returns (or, in a very long
 * poll, when PENDING records have piled up): one clock read per poll, the
 * same for every consumer, however expensive its clock is. Include it after
 * the map calls' header (libbpf's bpf.h or libbpf-wasm.h). */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "bench.h"

#define HIST_US 100000 /* 100 ms in 1 µs buckets; slower goes to the last */
#define PENDING 65536

struct stats {
	uint64_t want, received, seq_next, gaps;
	uint64_t last_ns;
	uint32_t npending;
	uint64_t pending[PENDING]; /* kernel stamps of records not yet received */
	uint32_t hist[HIST_US + 1];
};

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void stats_flush(struct stats *s)
{
	uint64_t now;

	if (!s->npending)
		return;
	now = mono_ns();
	for (uint32_t i = 0; i < s->npending; i++) {
		uint64_t lat_us = now > s->pending[i] ? (now - s->pending[i]) / 1000 : 0;
		s->hist[lat_us < HIST_US ? lat_us : HIST_US]++;
	}
	s->received += s->npending;
	s->npending = 0;
	s->last_ns = now;
}

/* Call after each poll: what it delivered is received now. */
static inline void stats_poll_done(struct stats *s)
{
	stats_flush(s);
}

static inline int stats_record(struct stats *s, const void *data, uint64_t size)
{
	const struct rec *r = data;

	if (size < sizeof(*r))
		return 0;
	if (r->seq != s->seq_next)
		s->gaps++;
	s->seq_next = r->seq + 1;
	s->pending[s->npending++] = r->ts;
	if (s->npending == PENDING)
		stats_flush(s);
	return 0;
}

static inline uint64_t stats_percentile(const struct stats *s, double p)
{
	uint64_t need = (uint64_t)(p * (double)s->received), seen = 0;

	for (uint64_t us = 0; us <= HIST_US; us++) {
		seen += s->hist[us];
		if (seen > need)
			return us;
	}
	return HIST_US;
}

/* One line the bench driver parses. */
static inline void stats_print(const struct stats *s)
{
	printf("result received=%llu gaps=%llu last_ns=%llu p50_us=%llu p99_us=%llu\n",
	       (unsigned long long)s->received, (unsigned long long)s->gaps,
	       (unsigned long long)s->last_ns,
	       (unsigned long long)stats_percentile(s, 0.50),
	       (unsigned long long)stats_percentile(s, 0.99));
	fflush(stdout);
}

/* Done when every record came, or nothing came for a second after the
 * first (the rest is lost), or nothing at all for ten seconds. */
static inline int stats_done(const struct stats *s, uint64_t start_ns)
{
	uint64_t now = mono_ns();

	if (s->received >= s->want)
		return 1;
	if (s->received)
		return now - s->last_ns > 1000000000ull;
	return now - start_ns > 10000000000ull;
}

/* The map operation benchmark: OPS lookups, then OPS updates, of one key
 * of map fd. libbpf and libbpf-wasm.h have the same map calls. */
static inline int bench_maps(int fd, long ops)
{
	uint32_t key = 7;
	uint64_t value = 1, t0, t1, t2;

	if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
		return -1;
	t0 = mono_ns();
	for (long i = 0; i < ops; i++)
		if (bpf_map_lookup_elem(fd, &key, &value))
			return -1;
	t1 = mono_ns();
	for (long i = 0; i < ops; i++) {
		value = (uint64_t)i;
		if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
			return -1;
	}
	t2 = mono_ns();
	printf("maps lookup_ns=%.1f update_ns=%.1f\n", (double)(t1 - t0) / ops, (double)(t2 - t1) / ops);
	return 0;
}

#endif
