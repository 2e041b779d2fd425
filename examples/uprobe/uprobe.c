// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Prints each call of uprobe_add in the uprobe_target binary, with its
 * arguments, and each return, with its result. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libbpf-wasm.h"
#include "uprobe.wasm.h"
#include "uprobe.skel.h"

static int handle_event(void *ctx, void *data, size_t size)
{
	const struct uprobe_event *e = data;

	if (size < sizeof(*e))
		return 0;
	if (e->is_ret)
		printf("%-7d uprobe_add returned %d\n", e->pid, e->ret);
	else
		printf("%-7d uprobe_add(%d, %d)\n", e->pid, e->a, e->b);
	fflush(stdout);
	return 0;
}

int main(void)
{
	struct bpf_buffer *buf = NULL;
	struct uprobe_bpf *skel;
	int err;

	skel = uprobe_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton: %s\n", strerror(errno));
		return 1;
	}
	err = uprobe_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach uprobes: %s\n", strerror(-err));
		goto cleanup;
	}
	buf = bpf_buffer__open(skel->maps.events, handle_event, NULL);
	if (!buf) {
		err = -errno;
		fprintf(stderr, "Failed to open ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	printf("Tracing uprobe_add of %s\n", skel->progs.uprobe_add->sec + strlen("uprobe/"));
	fflush(stdout);
	while ((err = bpf_buffer__poll(buf, 100)) >= 0)
		;
	if (err == -EINTR)
		err = 0;
	else
		fprintf(stderr, "Error polling ring buffer: %s\n", strerror(-err));
cleanup:
	bpf_buffer__free(buf);
	uprobe_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
