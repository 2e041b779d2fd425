// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* fentry: prints every rmdir on the machine twice, as fentry sees it on the
 * way into vfs_rmdir and as fexit sees it on the way out, with the result
 * (0, or -errno: -39 for a directory that is not empty). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libbpf-wasm.h"
#include "fentry.wasm.h"
#include "fentry.skel.h"

static int handle_event(void *ctx, void *data, size_t size)
{
	struct fentry_event *e = data;

	if (size < sizeof(*e))
		return 0;
	e->comm[sizeof(e->comm) - 1] = '\0';
	e->name[sizeof(e->name) - 1] = '\0';
	if (e->exit)
		printf("%-5s %-7d %-16s %s -> %d\n", "EXIT", e->pid, e->comm, e->name, e->ret);
	else
		printf("%-5s %-7d %-16s %s\n", "ENTER", e->pid, e->comm, e->name);
	fflush(stdout);
	return 0;
}

int main(void)
{
	struct bpf_buffer *buf = NULL;
	struct fentry_bpf *skel;
	int err;

	skel = fentry_bpf__open();
	if (!skel) {
		fprintf(stderr, "Failed to open BPF skeleton: %s\n", strerror(errno));
		return 1;
	}
	err = fentry_bpf__load(skel);
	if (err) {
		/* The host says only that the load failed (wasm-bpf -v shows
		 * the kernel's answer); for fentry/fexit it is nearly always
		 * the kernel refusing BPF trampolines. */
		fprintf(stderr, "fentry: the kernel refused to load the fentry/fexit programs: it may lack "
				"BPF trampolines (CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS) or kernel BTF, or "
				"kernel lockdown or missing privileges forbid them (wasm-bpf -v shows the "
				"kernel's answer)\n");
		goto cleanup;
	}
	err = fentry_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "fentry: the kernel refused to attach the fentry/fexit programs (%s)\n",
			strerror(-err));
		goto cleanup;
	}
	buf = bpf_buffer__open(skel->maps.events, handle_event, NULL);
	if (!buf) {
		err = -errno;
		fprintf(stderr, "Failed to open ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	printf("%-5s %-7s %-16s %s\n", "EVENT", "PID", "COMM", "NAME");
	fflush(stdout);
	while ((err = bpf_buffer__poll(buf, 100)) >= 0)
		;
	if (err == -EINTR)
		err = 0;
	else
		fprintf(stderr, "Error polling ring buffer: %s\n", strerror(-err));
cleanup:
	bpf_buffer__free(buf);
	fentry_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
