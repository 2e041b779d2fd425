// SPDX-License-Identifier: GPL-2.0
/* reentry.bpf.c: events.bpf.c's two exec reporters, with names unique on
 * the system (at most 15 characters) so that the test can find its
 * programs with bpftool and see them leave the kernel. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "event.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} wbre_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} wbre_pb SEC(".maps");

static __always_inline void fill(struct event *e)
{
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

SEC("tp/sched/sched_process_exec")
int wbre_exec_rb(void *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&wbre_rb, sizeof(*e), 0);

	if (!e)
		return 0;
	fill(e);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/sched/sched_process_exec")
int wbre_exec_pb(void *ctx)
{
	struct event e = {};

	fill(&e);
	bpf_perf_event_output(ctx, &wbre_pb, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}
