// SPDX-License-Identifier: GPL-2.0
/* fdmaps.bpf.c: one map of every type whose values (or keys) the kernel
 * reads as file descriptors on a user-space update, for fdmaps.c to fill
 * with its own objects and with fds that are not its own. wbfd_entry reads
 * through both map-in-maps and tail-calls through wbfd_progs, so the test
 * sees the guest's own inserts work. Names are the test's own (wbfd_*, at
 * most 15 characters): it tells the objects the guest holds apart by them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* The inner map the guest inserts into both map-in-maps. */
struct wbfd_inner_t {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
};

struct wbfd_inner_t wbfd_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct wbfd_inner_t);
} wbfd_aom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct wbfd_inner_t);
} wbfd_hom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} wbfd_progs SEC(".maps");

/* Results of the programs: [0] the tail call ran, [1] what wbfd_entry read
 * through wbfd_aom, [2] through wbfd_hom. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} wbfd_res SEC(".maps");

/* The 8-byte value forms carry a program fd at offset 4; the 4-byte forms
 * carry none. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} wbfd_dev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} wbfd_dev4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} wbfd_devh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} wbfd_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} wbfd_cpu4 SEC(".maps");

/* Values that are sockets, AF_XDP sockets, cgroups and perf events. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} wbfd_sock SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} wbfd_sock8 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} wbfd_sockh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} wbfd_rport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} wbfd_xsk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} wbfd_cgarr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} wbfd_perf SEC(".maps");

/* Local storage: the key is a socket, file, pidfd or cgroup fd. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} wbfd_sks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} wbfd_inode SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} wbfd_task SEC(".maps");

/* BPF_MAP_TYPE_CGRP_STORAGE came in Linux 6.2: fdmaps_test.go builds the
 * object without it (WBFD_NO_CGRP_STORAGE) for older kernels, where the
 * object would not load. */
#ifndef WBFD_NO_CGRP_STORAGE
struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} wbfd_cgrp SEC(".maps");
#endif

static __always_inline void record(__u32 slot, __u64 v)
{
	bpf_map_update_elem(&wbfd_res, &slot, &v, BPF_ANY);
}

SEC("tp/sched/sched_process_exec")
int wbfd_entry(void *ctx)
{
	__u32 zero = 0, seven = 7;
	__u64 *v;
	void *inner;

	inner = bpf_map_lookup_elem(&wbfd_aom, &zero);
	if (inner && (v = bpf_map_lookup_elem(inner, &zero)))
		record(1, *v);
	inner = bpf_map_lookup_elem(&wbfd_hom, &seven);
	if (inner && (v = bpf_map_lookup_elem(inner, &zero)))
		record(2, *v);
	bpf_tail_call(ctx, &wbfd_progs, 0);
	return 0;
}

/* Reached only by the tail call from wbfd_entry: never attached. */
SEC("tp/sched/sched_process_exec")
int wbfd_tail(void *ctx)
{
	record(0, 0x7a11ca11);
	return 0;
}

/* Programs a devmap and a cpumap entry may carry. */
SEC("xdp/devmap")
int wbfd_xdpdev(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp/cpumap")
int wbfd_xdpcpu(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* No struct_ops map: the policy cannot analyse a .struct_ops section and
 * refuses such objects under every profile; host/internal/cabi's test checks
 * that an update of a struct_ops map is refused all the same. */
