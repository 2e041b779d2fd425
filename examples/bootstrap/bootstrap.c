// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Copyright (c) 2020 Facebook */
/* The user-space half of libbpf-bootstrap's bootstrap as a wasm-bpf guest,
 * on the skeleton `wasm-bpf gen skeleton` writes and libbpf-wasm.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libbpf-wasm.h"
#include "bootstrap.wasm.h" /* struct event, laid out for wasm32 */
#include "bootstrap.skel.h"

static struct env {
	int verbose;
	long min_duration_ms;
} env;

static void usage(const char *prog)
{
	fprintf(stderr,
		"Usage: %s [-v] [-d MS]\n"
		"BPF bootstrap demo application.\n"
		"\n"
		"It traces process start and exits and shows associated\n"
		"information (filename, process duration, PID and PPID, etc).\n"
		"\n"
		"  -d MS  Minimum process duration (ms) to report\n"
		"  -v     Verbose debug output\n",
		prog);
}

/* Returns 0, or -1 on a bad command line. */
static int parse_args(int argc, char **argv)
{
	char *end;
	int opt;

	while ((opt = getopt(argc, argv, "d:vh")) != -1) {
		switch (opt) {
		case 'v':
			env.verbose = 1;
			break;
		case 'd':
			/* wasm32 long is 32 bits: at most ~24 days, and
			 * ms * 1000000 always fits in 64 bits. */
			errno = 0;
			env.min_duration_ms = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || env.min_duration_ms <= 0) {
				fprintf(stderr, "Invalid duration: %s\n", optarg);
				usage(argv[0]);
				return -1;
			}
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "Unexpected argument: %s\n", argv[optind]);
		usage(argv[0]);
		return -1;
	}
	return 0;
}

static int handle_event(void *ctx, void *data, size_t data_sz)
{
	struct event *e = data;
	struct tm *tm;
	char ts[32];
	time_t t;

	if (data_sz < sizeof(*e)) {
		fprintf(stderr, "short record: %zu bytes, expected %zu\n", data_sz, sizeof(*e));
		return 0;
	}
	/* The record is a copy in our buffer: terminate its strings here
	 * rather than trust every path on the BPF side to have done so. */
	e->comm[sizeof(e->comm) - 1] = '\0';
	e->filename[sizeof(e->filename) - 1] = '\0';

	/* WASI has no time zone database: wasi-libc's localtime is UTC. */
	time(&t);
	tm = localtime(&t);
	strftime(ts, sizeof(ts), "%H:%M:%S", tm);

	if (e->exit_event) {
		printf("%-8s %-5s %-16s %-7d %-7d [%u]", ts, "EXIT", e->comm, e->pid, e->ppid,
		       e->exit_code);
		if (e->duration_ns)
			printf(" (%llums)", (unsigned long long)(e->duration_ns / 1000000));
		printf("\n");
	} else {
		printf("%-8s %-5s %-16s %-7d %-7d %s\n", ts, "EXEC", e->comm, e->pid, e->ppid,
		       e->filename);
	}
	/* stdout is block-buffered when it is not a terminal: flush per
	 * event so that a reader sees it now, not a few kilobytes later. */
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_buffer *rb = NULL;
	struct bootstrap_bpf *skel;
	int err;

	if (parse_args(argc, argv))
		return 1;

	/* Open BPF application */
	skel = bootstrap_bpf__open();
	if (!skel) {
		fprintf(stderr, "Failed to open BPF skeleton\n");
		return 1;
	}

	/* Parameterize BPF code with minimum duration parameter */
	skel->rodata->min_duration_ns = (uint64_t)env.min_duration_ms * 1000000ULL;

	/* Load & verify BPF programs (wasm-bpf -v shows the verifier's log) */
	err = bootstrap_bpf__load(skel);
	if (err) {
		fprintf(stderr, "Failed to load and verify BPF skeleton: %s\n", strerror(-err));
		goto cleanup;
	}

	/* Attach tracepoints */
	err = bootstrap_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton: %s\n", strerror(-err));
		goto cleanup;
	}

	/* Set up ring buffer polling */
	rb = bpf_buffer__open(skel->maps.rb, handle_event, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "Failed to create ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	if (env.verbose)
		fprintf(stderr, "loaded, attached; polling ring buffer fd %d\n",
			bpf_map__fd(skel->maps.rb));

	/* Process events */
	printf("%-8s %-5s %-16s %-7s %-7s %s\n", "TIME", "EVENT", "COMM", "PID", "PPID",
	       "FILENAME/EXIT CODE");
	fflush(stdout);
	for (;;) {
		err = bpf_buffer__poll(rb, 100 /* timeout, ms */);
		/* Ctrl-C will cause -EINTR */
		if (err == -EINTR) {
			err = 0;
			break;
		}
		if (err < 0) {
			fprintf(stderr, "Error polling ring buffer: %d\n", err);
			break;
		}
	}

cleanup:
	/* Clean up */
	bpf_buffer__free(rb);
	bootstrap_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
