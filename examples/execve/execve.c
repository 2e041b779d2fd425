// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Prints each execve on the machine: PID, PPID, UID, caller, path. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libbpf-wasm.h"
#include "execve.wasm.h"
#include "execve.skel.h"

static int handle_event(void *ctx, void *data, size_t size)
{
	struct execve_event *e = data;

	if (size < sizeof(*e))
		return 0;
	e->comm[sizeof(e->comm) - 1] = '\0';
	e->filename[sizeof(e->filename) - 1] = '\0';
	printf("%-7d %-7d %-6d %-16s %s\n", e->pid, e->ppid, e->uid, e->comm, e->filename);
	fflush(stdout);
	return 0;
}

int main(void)
{
	struct bpf_buffer *buf = NULL;
	struct execve_bpf *skel;
	int err;

	skel = execve_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton: %s\n", strerror(errno));
		return 1;
	}
	err = execve_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton: %s\n", strerror(-err));
		goto cleanup;
	}
	buf = bpf_buffer__open(skel->maps.events, handle_event, NULL);
	if (!buf) {
		err = -errno;
		fprintf(stderr, "Failed to open ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	printf("%-7s %-7s %-6s %-16s %s\n", "PID", "PPID", "UID", "COMM", "FILENAME");
	fflush(stdout);
	while ((err = bpf_buffer__poll(buf, 100)) >= 0)
		;
	if (err == -EINTR)
		err = 0;
	else
		fprintf(stderr, "Error polling ring buffer: %s\n", strerror(-err));
cleanup:
	bpf_buffer__free(buf);
	execve_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
