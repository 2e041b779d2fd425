// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The kernel half of __NAME__: one record per exec, through a ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct event {
	__u32 pid;
	__u32 ppid;
	char comm[16];
	char filename[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Puts struct event into the object's BTF, for wasm-bpf gen rust. */
const struct event *unused_event __attribute__((unused));

/* Set by the guest before load: report only children of this process
 * (0: every exec). A .rodata constant, so the verifier prunes the test. */
const volatile __u32 target_ppid = 0;

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
	unsigned int fname_off = ctx->__data_loc_filename & 0xFFFF;
	struct event *e;

	if (target_ppid && ppid != target_ppid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = ppid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + fname_off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
