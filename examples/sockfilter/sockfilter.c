// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sockfilter IFNAME: prints protocol, addresses and ports of every IPv4
 * packet seen on IFNAME (the host binds a raw packet socket to it and
 * attaches the filter). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libbpf-wasm.h"
#include "sockfilter.wasm.h"
#include "sockfilter.skel.h"

static const char *proto_name(uint32_t p)
{
	switch (p) {
	case 1: return "ICMP";
	case 6: return "TCP";
	case 17: return "UDP";
	}
	return "IP";
}

static void ip_str(uint32_t be_addr, char *buf, size_t n)
{
	const unsigned char *b = (const unsigned char *)&be_addr;

	snprintf(buf, n, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	const struct so_event *e = data;
	char src[16], dst[16];

	if (size < sizeof(*e))
		return 0;
	ip_str(e->src_addr, src, sizeof(src));
	ip_str(e->dst_addr, dst, sizeof(dst));
	printf("%-5s %s:%u -> %s:%u\n", proto_name(e->ip_proto), src, e->src_port, dst,
	       e->dst_port);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_buffer *buf = NULL;
	struct sockfilter_bpf *skel;
	int err;

	if (argc != 2) {
		fprintf(stderr, "Usage: %s IFNAME\n", argv[0]);
		return 1;
	}
	skel = sockfilter_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton: %s\n", strerror(errno));
		return 1;
	}
	/* Socket filters are not auto-attached: they need an interface. */
	err = bpf_program__attach_target(skel->progs.socket_handler, argv[1]);
	if (err) {
		fprintf(stderr, "Failed to attach to interface %s: %s\n", argv[1], strerror(-err));
		goto cleanup;
	}
	buf = bpf_buffer__open(skel->maps.rb, handle_event, NULL);
	if (!buf) {
		err = -errno;
		fprintf(stderr, "Failed to open ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	printf("Capturing IPv4 packets on %s\n", argv[1]);
	fflush(stdout);
	while ((err = bpf_buffer__poll(buf, 100)) >= 0)
		;
	if (err == -EINTR)
		err = 0;
	else
		fprintf(stderr, "Error polling ring buffer: %s\n", strerror(-err));
cleanup:
	bpf_buffer__free(buf);
	sockfilter_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
