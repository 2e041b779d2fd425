// SPDX-License-Identifier: GPL-2.0
/* rawfd.bpf.c: a program that reaches a map by the number of an fd, not by
 * a relocation: its 16-byte load of a map fd (src_reg BPF_PSEUDO_MAP_FD)
 * holds RAWFD_MARK, which rawfd.c replaces with an fd of the host before
 * it loads the object. libbpf passes such a load to the kernel as it is,
 * and the kernel resolves the number among the host's fds. The program
 * copies what it finds at key 0 into wbraw_out. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wbraw_out SEC(".maps");

SEC("tp/sched/sched_process_exec")
int wbraw_prog(void *ctx)
{
	__u32 zero = 0;
	__u64 *v, *out;
	void *m;

	/* r1 = map_fd(RAWFD_MARK): opcode 0x18, dst r1, src 1; imm 0x7ee1fd00. */
	asm volatile(".quad 0x7ee1fd0000001118\n.quad 0\n%[m] = r1" : [m] "=r"(m) : : "r1");
	v = bpf_map_lookup_elem(m, &zero);
	out = bpf_map_lookup_elem(&wbraw_out, &zero);
	if (v && out)
		*out = *v;
	return 0;
}
