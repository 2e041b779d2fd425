// SPDX-License-Identifier: GPL-2.0
/* leak.bpf.c: like events.bpf.c's ring buffer half, with names of its own
 * (at most 15 characters) so the test can check the guest holds exactly
 * this program and these maps, and then that they leave the kernel. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "event.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024);
} wbleak_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} wbleak_cnt SEC(".maps");

SEC("tp/sched/sched_process_exec")
int wbleak_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0;
	__u64 one = 1, *n;
	struct event *e;

	n = bpf_map_lookup_elem(&wbleak_cnt, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&wbleak_cnt, &zero, &one, BPF_NOEXIST);

	e = bpf_ringbuf_reserve(&wbleak_rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
