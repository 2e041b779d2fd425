/* bench.h: the record every consumer of bench.bpf.c receives; the same
 * layout on bpf (64-bit) and wasm32. */
#ifndef BENCH_H
#define BENCH_H

#ifdef __bpf__
typedef __u64 bench_u64;
#else
#include <stdint.h>
typedef uint64_t bench_u64;
#endif

struct rec {
	bench_u64 ts;  /* bpf_ktime_get_ns() when written */
	bench_u64 seq; /* 0, 1, 2, ... per program */
	bench_u64 pad[6];
};

_Static_assert(sizeof(struct rec) == 64, "struct rec is 64 bytes everywhere");

#endif
