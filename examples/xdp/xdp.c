// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* xdp IFNAME [INTERVAL [COUNT]]: attaches an XDP program to IFNAME and,
 * every INTERVAL seconds (default 1), prints the packets received per IP
 * protocol since the start; stops after COUNT intervals (default: never). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libbpf-wasm.h"
#include "xdp.skel.h"

static const char *proto_name(uint32_t p)
{
	switch (p) {
	case 1: return "ICMP";
	case 6: return "TCP";
	case 17: return "UDP";
	case 58: return "ICMPv6";
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long interval = 1, count = -1;
	struct xdp_bpf *skel;
	uint32_t key, next;
	uint64_t val;
	int err, fd;

	if (argc < 2 || (argc > 2 && (interval = strtol(argv[2], NULL, 10)) <= 0) ||
	    (argc > 3 && (count = strtol(argv[3], NULL, 10)) <= 0)) {
		fprintf(stderr, "Usage: %s IFNAME [INTERVAL [COUNT]]\n", argv[0]);
		return 1;
	}
	skel = xdp_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton: %s\n", strerror(errno));
		return 1;
	}
	err = bpf_program__attach_target(skel->progs.xdp_count, argv[1]);
	if (err) {
		fprintf(stderr, "Failed to attach XDP to %s: %s\n", argv[1], strerror(-err));
		goto cleanup;
	}
	fd = bpf_map__fd(skel->maps.proto_count);
	printf("Counting packets on %s per IP protocol\n", argv[1]);
	fflush(stdout);
	while (count < 0 || count-- > 0) {
		sleep((unsigned int)interval);
		/* Walk the array with get_next_key, as for any map. */
		for (err = bpf_map_get_next_key(fd, NULL, &next); !err;
		     err = bpf_map_get_next_key(fd, &key, &next)) {
			key = next;
			if (bpf_map_lookup_elem(fd, &key, &val) || !val)
				continue;
			if (proto_name(key))
				printf("%s: %llu\n", proto_name(key), (unsigned long long)val);
			else
				printf("proto %u: %llu\n", key, (unsigned long long)val);
		}
		if (err != -ENOENT) {
			fprintf(stderr, "Failed to read counts: %s\n", strerror(-err));
			goto cleanup;
		}
		err = 0;
		printf("--\n");
		fflush(stdout);
	}
cleanup:
	xdp_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
