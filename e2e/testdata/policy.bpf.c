// SPDX-License-Identifier: GPL-2.0
/* policy.bpf.c: one program per case of the capability policy's tests
 * (policy_test.go), chosen with -DCASE_<NAME>. Names are the test's own
 * (wbpol_*, at most 15 characters): it finds the program among what the
 * guest holds by its name. Each program counts its runs in wbpol_out[0]; the guest puts a
 * process name (comm) in wbpol_cfg[0] where a case acts on one process. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct comm {
	char c[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wbpol_out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct comm);
} wbpol_cfg SEC(".maps");

static __always_inline void count(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&wbpol_out, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* Whether the current task is the one wbpol_cfg names. */
static __always_inline int is_target(void)
{
	__u32 zero = 0;
	struct comm *want = bpf_map_lookup_elem(&wbpol_cfg, &zero);
	char comm[16];

	if (!want || !want->c[0] || bpf_get_current_comm(comm, sizeof(comm)))
		return 0;
	for (int i = 0; i < 16; i++) {
		if (comm[i] != want->c[i])
			return 0;
		if (!comm[i])
			break;
	}
	return 1;
}

#if defined(CASE_PLAIN) || defined(CASE_BIGMAP) || defined(CASE_MIDMAP) || defined(CASE_INNERMAP) || \
	defined(CASE_INNERSOCK) || defined(CASE_ODDRING) || defined(CASE_MANYMAPS)
#ifdef CASE_MANYMAPS
/* 256 small maps: 256 file descriptors once loaded. */
#define MAP(n)                                   \
	struct {                                 \
		__uint(type, BPF_MAP_TYPE_ARRAY); \
		__uint(max_entries, 1);          \
		__type(key, __u32);              \
		__type(value, __u32);            \
	} wbpol_m##n SEC(".maps");
#define MAP4(n) MAP(n##0) MAP(n##1) MAP(n##2) MAP(n##3)
#define MAP16(n) MAP4(n##0) MAP4(n##1) MAP4(n##2) MAP4(n##3)
#define MAP64(n) MAP16(n##0) MAP16(n##1) MAP16(n##2) MAP16(n##3)
MAP64(0) MAP64(1) MAP64(2) MAP64(3)
#endif
#ifdef CASE_ODDRING
/* Not a power-of-2 multiple of the page size: libbpf makes it 131072. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 100000);
} wbpol_ring SEC(".maps");
#endif
#ifdef CASE_BIGMAP
/* 2^28 entries of 8 bytes: 2 GiB of kernel memory if it were created. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 28);
	__type(key, __u32);
	__type(value, __u32);
} wbpol_big SEC(".maps");
#endif
#ifdef CASE_MIDMAP
/* 2^17 entries of 8 bytes: 1 MiB. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 17);
	__type(key, __u32);
	__type(value, __u64);
} wbpol_mid SEC(".maps");
#endif
#ifdef CASE_INNERMAP
/* An outer map of one entry whose inner map, 2^17 entries of 8 bytes
 * (1 MiB), libbpf creates at load as the template of the maps it holds. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_ARRAY);
		__uint(max_entries, 1 << 17);
		__type(key, __u32);
		__type(value, __u64);
	});
} wbpol_outer SEC(".maps");
#endif
#ifdef CASE_INNERSOCK
/* A hash of sockmaps: its inner map is a sockmap, which "network" grants. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_SOCKMAP);
		__uint(max_entries, 1);
		__type(key, __u32);
		__type(value, __u32);
	});
} wbpol_outs SEC(".maps");
#endif
SEC("tp/sched/sched_process_exec")
int wbpol_plain(void *ctx)
{
	count();
	return 0;
}
#endif

#ifdef CASE_TPESCAPE
/* libbpf reads the tracepoint's id from tracefs' events/sched/../syscalls/
 * sys_enter_getppid/id: the tracepoint this program attaches to is
 * syscalls/sys_enter_getppid, whatever the section's prefix says. */
SEC("tp/sched/../syscalls/sys_enter_getppid")
int wbpol_tpesc(void *ctx)
{
	count();
	return 0;
}
#endif

#ifdef CASE_SIGNAL
SEC("tp/sched/sched_process_exec")
int wbpol_sig(void *ctx)
{
	if (is_target()) {
		bpf_send_signal(9);
		count();
	}
	return 0;
}
#endif

#ifdef CASE_SUBPROG
/* The helper is called only here, in a subprogram of its own. */
static __noinline int kill_current(int sig)
{
	return bpf_send_signal(sig);
}

SEC("tp/sched/sched_process_exec")
int wbpol_sub(void *ctx)
{
	if (is_target()) {
		kill_current(9);
		count();
	}
	return 0;
}
#endif

#ifdef CASE_LOOP
/* The helper is called only here, in bpf_loop's callback. */
static int kill_cb(__u32 i, void *ctx)
{
	bpf_send_signal(9);
	return 1;
}

SEC("tp/sched/sched_process_exec")
int wbpol_loop(void *ctx)
{
	if (is_target()) {
		bpf_loop(1, kill_cb, NULL, 0);
		count();
	}
	return 0;
}
#endif

#ifdef CASE_WRITEUSER
/* At write(2) of the target, overwrite the start of its buffer. */
SEC("tp/syscalls/sys_enter_write")
int wbpol_wuser(struct trace_event_raw_sys_enter *ctx)
{
	if (is_target()) {
		bpf_probe_write_user((void *)ctx->args[1], "HACKD", 5);
		count();
	}
	return 0;
}
#endif

#ifdef CASE_KFUNC
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

SEC("tp_btf/sched_process_exec")
int wbpol_kfunc(void *ctx)
{
	struct task_struct *t = bpf_task_acquire(bpf_get_current_task_btf());

	if (t) {
		bpf_task_release(t);
		count();
	}
	return 0;
}
#endif

#ifdef CASE_KFUNCFLAVOR
/* The same kfuncs under flavoured names: libbpf drops the "___" suffix and
 * calls bpf_task_acquire and bpf_task_release. */
extern struct task_struct *bpf_task_acquire___wb(struct task_struct *p) __ksym;
extern void bpf_task_release___wb(struct task_struct *p) __ksym;

SEC("tp_btf/sched_process_exec")
int wbpol_kflav(void *ctx)
{
	struct task_struct *t = bpf_task_acquire___wb(bpf_get_current_task_btf());

	if (t) {
		bpf_task_release___wb(t);
		count();
	}
	return 0;
}
#endif

#ifdef CASE_UNKNOWN
/* A helper id no kernel has (yet): only "all" lets it through, and then
 * the verifier refuses it. */
SEC("tp/sched/sched_process_exec")
int wbpol_unk(void *ctx)
{
	((long (*)(void))999)();
	count();
	return 0;
}
#endif

#ifdef CASE_XDP
SEC("xdp")
int wbpol_xdp(struct xdp_md *ctx)
{
	count();
	return XDP_PASS;
}
#endif

#ifdef CASE_SYSCTL
/* Denies every sysctl read and write of the processes in the cgroup. */
SEC("cgroup/sysctl")
int wbpol_sysctl(struct bpf_sysctl *ctx)
{
	count();
	return 0;
}
#endif

#ifdef CASE_SOCKET
SEC("socket")
int wbpol_sock(struct __sk_buff *skb)
{
	count();
	return 0;
}
#endif
