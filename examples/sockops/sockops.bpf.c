// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A sockops program on a cgroup v2 directory: reports each TCP connection
 * established by a process of that cgroup (both ends, if both are in it). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2

struct sockops_event {
	u32 op;			/* BPF_SOCK_OPS_*_ESTABLISHED_CB */
	u32 local_ip4;		/* network byte order */
	u32 remote_ip4;
	u32 local_port;		/* host byte order */
	u32 remote_port;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

const struct sockops_event *unused_event __attribute__((unused));

SEC("sockops")
int handle_sockops(struct bpf_sock_ops *skops)
{
	struct sockops_event *e;

	if (skops->family != AF_INET)
		return 1;
	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 1;
	e->op = skops->op;
	e->local_ip4 = skops->local_ip4;
	e->remote_ip4 = skops->remote_ip4;
	e->local_port = skops->local_port;
	e->remote_port = bpf_ntohl(skops->remote_port);
	bpf_ringbuf_submit(e, 0);
	return 1;
}
