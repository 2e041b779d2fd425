// SPDX-License-Identifier: GPL-2.0
/* reject.bpf.c: a valid ELF whose program the verifier refuses (it reads
 * past the tracepoint context). Its map is created before the program is
 * refused; the test checks the failed load leaves it in the kernel neither. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wbrej_map SEC(".maps");

SEC("tp/sched/sched_process_exec")
int wbrej_prog(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&wbrej_map, &zero);

	if (v)
		*v += 1;
	return *(volatile int *)((char *)ctx + 16384); /* >= PERF_MAX_TRACE_SIZE */
}
