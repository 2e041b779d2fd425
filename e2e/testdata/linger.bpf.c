// SPDX-License-Identifier: GPL-2.0
/* linger.bpf.c: a map of maps, wbln_outer, and a map of the shape of its
 * inner map, wbln_big (2^17 entries of 8 bytes: 1 MiB), for the test that
 * a map of one object cannot hold the maps of another (linger.c). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct big {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 17);
	__type(key, __u32);
	__type(value, __u64);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct big);
} wbln_outer SEC(".maps");

struct big wbln_big SEC(".maps");

SEC("tp/sched/sched_process_exec")
int wbln_prog(void *ctx)
{
	return 0;
}
