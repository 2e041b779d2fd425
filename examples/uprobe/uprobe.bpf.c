// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A uprobe and a uretprobe on uprobe_add of the uprobe_target binary built
 * beside this file. The ABI attaches programs by their section, so the
 * binary's absolute path is compiled in (the Makefile passes it). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#ifndef TARGET_PATH
#error "TARGET_PATH (absolute path of uprobe_target) must be defined"
#endif

struct uprobe_event {
	int pid;
	int is_ret;
	int a;
	int b;
	int ret;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

const struct uprobe_event *unused_event __attribute__((unused));

SEC("uprobe/" TARGET_PATH ":uprobe_add")
int BPF_KPROBE(uprobe_add, int a, int b)
{
	struct uprobe_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->is_ret = 0;
	e->a = a;
	e->b = b;
	e->ret = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uretprobe/" TARGET_PATH ":uprobe_add")
int BPF_KRETPROBE(uretprobe_add, int ret)
{
	struct uprobe_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->is_ret = 1;
	e->a = e->b = 0;
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
