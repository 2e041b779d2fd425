// SPDX-License-Identifier: GPL-2.0
/* slow.bpf.c: 16 programs that each take the verifier a while: a bounded
 * loop whose iterations it walks one by one, with a branch in each that it
 * cannot prune. For the tests of a guest stopped while its load runs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wbslow_out SEC(".maps");

#define SLOW(n)							\
SEC("tp/sched/sched_process_exec")				\
int wbslow_##n(void *ctx)					\
{								\
	__u64 x = bpf_get_prandom_u32(), acc = 0;		\
	__u32 zero = 0;						\
	__u64 *out;						\
								\
	for (int i = 0; i < ITERATIONS; i++) {			\
		if (x & (1ULL << (i & 31)))			\
			acc += x >> (i & 7);			\
		else						\
			acc ^= x << (i & 5);			\
		x = x * 6364136223846793005ULL + 1;		\
	}							\
	out = bpf_map_lookup_elem(&wbslow_out, &zero);		\
	if (out)						\
		*out = acc;					\
	return 0;						\
}

#ifndef ITERATIONS
#define ITERATIONS 2000
#endif

SLOW(0) SLOW(1) SLOW(2) SLOW(3) SLOW(4) SLOW(5) SLOW(6) SLOW(7)
SLOW(8) SLOW(9) SLOW(10) SLOW(11) SLOW(12) SLOW(13) SLOW(14) SLOW(15)
