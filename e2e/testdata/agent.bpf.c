// SPDX-License-Identifier: GPL-2.0
/* agent.bpf.c: the agent tests' program. On getpgid(AGENT_MAGIC), and on
 * no other call, it sends a 4000-byte record to a perf buffer and to a
 * small ring buffer, and counts each ring buffer record it could not send
 * in wasm_bpf_records_lost, the variable the agent reports as lost records
 * (host.LostVariable). Names start with wbagt_, unique on the system, so
 * the tests find what is theirs in the kernel. Guests attach wbagt_flood,
 * or (idle) wbagt_idle. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define AGENT_MAGIC 0x7e57a9e1 /* above any pid: getpgid fails with ESRCH */

struct big {
	char data[4000];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024);
} wbagt_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} wbagt_pb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct big);
} wbagt_big SEC(".maps");

__u64 wasm_bpf_records_lost = 0;

SEC("tp/syscalls/sys_enter_getpgid")
int wbagt_flood(struct trace_event_raw_sys_enter *ctx)
{
	__u32 zero = 0;
	struct big *b;

	if (ctx->args[0] != AGENT_MAGIC)
		return 0;
	b = bpf_map_lookup_elem(&wbagt_big, &zero);
	if (!b)
		return 0;
	bpf_perf_event_output(ctx, &wbagt_pb, BPF_F_CURRENT_CPU, b, sizeof(*b));
	if (bpf_ringbuf_output(&wbagt_rb, b, sizeof(*b), 0))
		__sync_fetch_and_add(&wasm_bpf_records_lost, 1);
	return 0;
}

/* What idle guests attach: a raw tracepoint, which has no limit on the
 * programs attached to it (a tracepoint takes 64), on a rare event. */
SEC("raw_tp/task_rename")
int wbagt_idle(void *ctx)
{
	return 0;
}
