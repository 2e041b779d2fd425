// SPDX-License-Identifier: GPL-2.0
/* maps.bpf.c: counts execs per comm, only for tasks whose real parent's tgid
 * is the value user space wrote into filter_pid[0]. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} filter_pid SEC(".maps");

struct comm_key {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct comm_key);
	__type(value, __u64);
} exec_counts SEC(".maps");

SEC("tp/sched/sched_process_exec")
int count_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct comm_key key = {};
	__u32 zero = 0, *want, ppid;
	__u64 one = 1, *n;

	want = bpf_map_lookup_elem(&filter_pid, &zero);
	if (!want || !*want)
		return 0;
	ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (ppid != *want)
		return 0;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	n = bpf_map_lookup_elem(&exec_counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&exec_counts, &key, &one, BPF_NOEXIST);
	return 0;
}
