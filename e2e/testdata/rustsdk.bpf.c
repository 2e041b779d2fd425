// SPDX-License-Identifier: GPL-2.0
/* rustsdk.bpf.c: what the Rust guest's SDK cases need (rust/src/main.rs):
 * maps of each kind the SDK treats differently, globals in .rodata, .data
 * and .bss, a program that attaches as its section says and one that
 * needs a target. Every name starts with wbr: the leak tests filter on
 * names, and other tests run at the same time. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} wbr_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wbr_pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} wbr_rb SEC(".maps");

const volatile __u64 wbr_ro = 1;
__u32 wbr_data = 5;
__u64 wbr_bss;

/* Copies wbr_ro into wbr_bss at each exec: the guest reads back the value
 * it set before load. */
SEC("tp/sched/sched_process_exec")
int wbr_prog(void *ctx)
{
	wbr_bss = wbr_ro + wbr_data;
	return 0;
}

SEC("socket")
int wbr_sock(void *ctx)
{
	return 0;
}
