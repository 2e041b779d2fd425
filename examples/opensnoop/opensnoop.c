// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* opensnoop: prints each openat(2) with its result. -p PID and -n NAME
 * filter in the kernel, through .rodata set before load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libbpf-wasm.h"
#include "opensnoop.wasm.h"
#include "opensnoop.skel.h"

static void usage(const char *prog)
{
	fprintf(stderr, "Usage: %s [-p PID] [-n NAME]\n"
			"Trace openat(2) calls.\n\n"
			"  -p PID   only this process\n"
			"  -n NAME  only commands named NAME (as in /proc/PID/comm)\n",
		prog);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct open_event *e = data;
	int fd, err;

	if (size < sizeof(*e))
		return 0;
	e->comm[sizeof(e->comm) - 1] = '\0';
	e->fname[sizeof(e->fname) - 1] = '\0';
	/* ret is the kernel's long: 64 bits, whatever wasm32 thinks a long is. */
	fd = e->ret >= 0 ? (int)e->ret : -1;
	err = e->ret >= 0 ? 0 : (int)-e->ret;
	printf("%-7d %-16s %3d %3d %s\n", e->pid, e->comm, fd, err, e->fname);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_buffer *buf = NULL;
	struct opensnoop_bpf *skel;
	const char *name = NULL;
	long pid = 0;
	char *end;
	int opt, err;

	while ((opt = getopt(argc, argv, "p:n:h")) != -1) {
		switch (opt) {
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || *end || pid <= 0) {
				fprintf(stderr, "Invalid PID: %s\n", optarg);
				return 1;
			}
			break;
		case 'n':
			name = optarg;
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 1;
		}
	}

	skel = opensnoop_bpf__open();
	if (!skel) {
		fprintf(stderr, "Failed to open BPF skeleton: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->targ_pid = (int32_t)pid;
	if (name)
		strncpy(skel->rodata->targ_comm, name, sizeof(skel->rodata->targ_comm) - 1);

	err = opensnoop_bpf__load(skel);
	if (err) {
		fprintf(stderr, "Failed to load BPF skeleton: %s\n", strerror(-err));
		goto cleanup;
	}
	err = opensnoop_bpf__attach(skel);
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
	printf("%-7s %-16s %3s %3s %s\n", "PID", "COMM", "FD", "ERR", "PATH");
	fflush(stdout);
	while ((err = bpf_buffer__poll(buf, 100)) >= 0)
		;
	if (err == -EINTR)
		err = 0;
	else
		fprintf(stderr, "Error polling ring buffer: %s\n", strerror(-err));
cleanup:
	bpf_buffer__free(buf);
	opensnoop_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
