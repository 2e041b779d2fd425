// SPDX-License-Identifier: GPL-2.0
/* diag.bpf.c: one BPF object per failure the runtime explains
 * (diagnose_test.go); -D picks which. Every name starts with wbdiag_. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wbdiag_map SEC(".maps");

#ifdef DIAG_TRACEPOINT
/* Loads and attaches anywhere with the privileges and tracefs: the
 * missing-privilege, tracefs and no-BTF cases. */
SEC("tp/sched/sched_process_exec")
int wbdiag_tp(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&wbdiag_map, &zero);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}
#endif

#ifdef DIAG_CORE
/* A CO-RE read of the current task: needs the kernel's BTF. */
SEC("tp/sched/sched_process_exec")
int wbdiag_core(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0;
	__u64 ppid = BPF_CORE_READ(task, real_parent, tgid);

	bpf_map_update_elem(&wbdiag_map, &zero, &ppid, BPF_ANY);
	return 0;
}
#endif

#ifdef DIAG_VERIFIER
/* Reads past the tracepoint's context: the verifier refuses it. */
SEC("tp/sched/sched_process_exec")
int wbdiag_reject(void *ctx)
{
	return *(volatile int *)((char *)ctx + 16384);
}
#endif

#ifdef DIAG_HELPER
/* Calls helper #250, which no kernel has yet. */
SEC("tp/sched/sched_process_exec")
int wbdiag_helper(void *ctx)
{
	((long (*)(void))250)();
	return 0;
}
#endif

#ifdef DIAG_FENTRY
SEC("fentry/do_unlinkat")
int wbdiag_fentry(void *ctx)
{
	return 0;
}
#endif

#ifdef DIAG_BTF_TARGET
SEC("tp_btf/wbdiag_no_such_tracepoint")
int wbdiag_btf(void *ctx)
{
	return 0;
}
#endif

#ifdef DIAG_ATTACH
SEC("tp/sched/wbdiag_no_such_tracepoint")
int wbdiag_tp_missing(void *ctx)
{
	return 0;
}

SEC("kprobe/wbdiag_no_such_function")
int wbdiag_kprobe(void *ctx)
{
	return 0;
}

SEC("socket")
int wbdiag_sock(struct __sk_buff *skb)
{
	return 0;
}
#endif

#ifdef DIAG_PINNED
/* Asks to be pinned: loads without bpffs, as nothing is ever pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} wbdiag_pinned SEC(".maps");

SEC("tp/sched/sched_process_exec")
int wbdiag_pin(void *ctx)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&wbdiag_pinned, &zero) != 0;
}
#endif

#ifdef DIAG_VERIFIER_LONG
/* Refused after a few hundred instructions: a log of several KiB. */
SEC("tp/sched/sched_process_exec")
int wbdiag_long(void *ctx)
{
	volatile __u64 x = 0;

#pragma unroll
	for (int i = 0; i < 100; i++)
		x += i * 3;
	return *(volatile int *)((char *)ctx + 16384);
}
#endif
