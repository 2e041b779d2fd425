// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sockops CGROUP_DIR: prints each IPv4 TCP connection established by a
 * process of the cgroup v2 directory CGROUP_DIR. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libbpf-wasm.h"
#include "sockops.wasm.h"
#include "sockops.skel.h"

#define BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB 4

static void ip_str(uint32_t be_addr, char *buf, size_t n)
{
	const unsigned char *b = (const unsigned char *)&be_addr;

	snprintf(buf, n, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	const struct sockops_event *e = data;
	char l[16], r[16];

	if (size < sizeof(*e))
		return 0;
	ip_str(e->local_ip4, l, sizeof(l));
	ip_str(e->remote_ip4, r, sizeof(r));
	printf("%-7s %s:%u -> %s:%u\n",
	       e->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB ? "ACTIVE" : "PASSIVE", l,
	       e->local_port, r, e->remote_port);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_buffer *buf = NULL;
	struct sockops_bpf *skel;
	int err;

	if (argc != 2) {
		fprintf(stderr, "Usage: %s CGROUP_V2_DIR\n", argv[0]);
		return 1;
	}
	skel = sockops_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton: %s\n", strerror(errno));
		return 1;
	}
	err = bpf_program__attach_target(skel->progs.handle_sockops, argv[1]);
	if (err) {
		fprintf(stderr, "Failed to attach to cgroup %s: %s\n", argv[1], strerror(-err));
		goto cleanup;
	}
	buf = bpf_buffer__open(skel->maps.events, handle_event, NULL);
	if (!buf) {
		err = -errno;
		fprintf(stderr, "Failed to open ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	printf("Watching TCP connections of cgroup %s\n", argv[1]);
	fflush(stdout);
	while ((err = bpf_buffer__poll(buf, 100)) >= 0)
		;
	if (err == -EINTR)
		err = 0;
	else
		fprintf(stderr, "Error polling ring buffer: %s\n", strerror(-err));
cleanup:
	bpf_buffer__free(buf);
	sockops_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
