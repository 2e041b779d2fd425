// SPDX-License-Identifier: GPL-2.0
/* bench.bpf.c: one fixed-size record per getppid() of the load generator
 * (its tgid is written into "target" by the consumer), through a ring
 * buffer (on_getppid_rb) or a perf event array (on_getppid_pb). Records the
 * kernel could not write are counted in "drops". */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "bench.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps"); /* [0] ring buffer, [1] perf */

/* For the map operation benchmark. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} kv SEC(".maps");

__u64 seq_rb, seq_pb;

static __always_inline int mine(void)
{
	__u32 zero = 0, *t = bpf_map_lookup_elem(&target, &zero);

	return t && *t == (__u32)(bpf_get_current_pid_tgid() >> 32);
}

static __always_inline void drop(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &which);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("tp/syscalls/sys_enter_getppid")
int on_getppid_rb(void *ctx)
{
	struct rec *r;

	if (!mine())
		return 0;
	r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r) {
		drop(0);
		return 0;
	}
	r->seq = seq_rb++;
	__builtin_memset(r->pad, 0, sizeof(r->pad));
	r->ts = bpf_ktime_get_ns();
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int on_getppid_pb(void *ctx)
{
	struct rec r = {};

	if (!mine())
		return 0;
	r.seq = seq_pb++;
	r.ts = bpf_ktime_get_ns();
	if (bpf_perf_event_output(ctx, &pb, BPF_F_CURRENT_CPU, &r, sizeof(r)))
		drop(1);
	return 0;
}
