// SPDX-License-Identifier: GPL-2.0
/* fdvictim.bpf.c: the objects of the guest whose fds another guest tries
 * to put into its maps (fdmaps.c). wbfdv_secret has the shape of
 * fdmaps.bpf.c's inner-map template and wbfdv_prog the type of its prog
 * array, so the kernel would take them; wbfdv_xdp is a devmap program. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wbfdv_secret SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} wbfdv_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} wbfdv_pb SEC(".maps");

/* Never attached: only a tail call through someone else's prog array
 * could run it. */
SEC("tp/sched/sched_process_exec")
int wbfdv_prog(void *ctx)
{
	__u32 zero = 0;
	__u64 *secret = bpf_map_lookup_elem(&wbfdv_secret, &zero);

	if (secret) {
		bpf_ringbuf_output(&wbfdv_rb, secret, sizeof(*secret), 0);
		bpf_perf_event_output(ctx, &wbfdv_pb, BPF_F_CURRENT_CPU, secret, sizeof(*secret));
	}
	return 0;
}

SEC("xdp/devmap")
int wbfdv_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}
