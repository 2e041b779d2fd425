// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A socket filter on a raw packet socket: reports the protocol, addresses
 * and ports of each IPv4 packet through a ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP 0x0800
#define ETH_HLEN 14

struct so_event {
	u32 src_addr;		/* network byte order */
	u32 dst_addr;
	u16 src_port;		/* host byte order */
	u16 dst_port;
	u32 ip_proto;
	u32 pkt_type;
	u32 ifindex;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

const struct so_event *unused_event __attribute__((unused));

SEC("socket")
int socket_handler(struct __sk_buff *skb)
{
	struct so_event *e;
	u16 h_proto, frag_off;
	u8 verlen, proto;
	u32 ihl;

	if (bpf_skb_load_bytes(skb, 12, &h_proto, sizeof(h_proto)) < 0 ||
	    bpf_ntohs(h_proto) != ETH_P_IP)
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + 6, &frag_off, sizeof(frag_off)) < 0 ||
	    (bpf_ntohs(frag_off) & 0x3fff)) /* fragments carry no ports */
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + 9, &proto, 1) < 0 ||
	    bpf_skb_load_bytes(skb, ETH_HLEN, &verlen, 1) < 0)
		return 0;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->ip_proto = proto;
	e->pkt_type = skb->pkt_type;
	e->ifindex = skb->ifindex;
	bpf_skb_load_bytes(skb, ETH_HLEN + 12, &e->src_addr, 4);
	bpf_skb_load_bytes(skb, ETH_HLEN + 16, &e->dst_addr, 4);
	e->src_port = e->dst_port = 0;
	ihl = (verlen & 0xf) * 4;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		u16 ports[2];

		if (bpf_skb_load_bytes(skb, ETH_HLEN + ihl, ports, sizeof(ports)) == 0) {
			e->src_port = bpf_ntohs(ports[0]);
			e->dst_port = bpf_ntohs(ports[1]);
		}
	}
	bpf_ringbuf_submit(e, 0);
	/* 0: the packet socket keeps no copy; the guest only reads the ring. */
	return 0;
}
