// SPDX-License-Identifier: GPL-2.0
/* check.bpf.c: a small object with what libbpf walks when it opens and
 * loads one: a typedef'd map value, a struct map definition in .maps, and a
 * CO-RE relocation. objcheck's tests mutate it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

typedef __u64 wbchk_count_t;

struct wbchk_value {
	wbchk_count_t execs;
	__u32 last_ppid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct wbchk_value);
} wbchk_map SEC(".maps");

SEC("tp/sched/sched_process_exec")
int wbchk_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 key = 0;
	struct wbchk_value *v = bpf_map_lookup_elem(&wbchk_map, &key);

	if (v) {
		v->execs++;
		v->last_ppid = BPF_CORE_READ(task, real_parent, tgid);
	}
	return 0;
}
