// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Reports openat(2) calls with their result, filtered by PID and command
 * name set by the guest in .rodata before load. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TASK_COMM_LEN 16
#define NAME_MAX 255

const volatile int targ_pid = 0;		/* 0: every process */
const volatile char targ_comm[TASK_COMM_LEN] = {}; /* "": every name */

struct args_t {
	const char *fname;
	int flags;
};

struct open_event {
	int pid;
	int flags;
	long ret;			/* 8 bytes here, 4 in wasm32: see opensnoop.wasm.h */
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct args_t);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

const struct open_event *unused_event __attribute__((unused));

static __always_inline bool comm_matches(void)
{
	char comm[TASK_COMM_LEN];
	int i;

	if (!targ_comm[0])
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	for (i = 0; i < TASK_COMM_LEN; i++) {
		if (comm[i] != targ_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

SEC("tp/syscalls/sys_enter_openat")
int handle_enter(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = (u32)id;
	struct args_t args = {};

	if (targ_pid && targ_pid != pid)
		return 0;
	if (!comm_matches())
		return 0;
	args.fname = (const char *)ctx->args[1];
	args.flags = (int)ctx->args[2];
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int handle_exit(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct args_t *ap;
	struct open_event *e;

	ap = bpf_map_lookup_elem(&start, &tid);
	if (!ap)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = id >> 32;
		e->flags = ap->flags;
		e->ret = ctx->ret;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		if (bpf_probe_read_user_str(e->fname, sizeof(e->fname), ap->fname) < 0)
			e->fname[0] = '\0';
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&start, &tid);
	return 0;
}
