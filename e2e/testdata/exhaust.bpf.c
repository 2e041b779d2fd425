// SPDX-License-Identifier: GPL-2.0
/* exhaust.bpf.c: a socket filter that passes nothing and a ring buffer, for
 * guests that make the host hold as many file descriptors as it lets them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} wbexh_rb SEC(".maps");

SEC("socket")
int wbexh_sock(struct __sk_buff *skb)
{
	return 0;
}
