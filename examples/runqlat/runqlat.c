// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* runqlat [INTERVAL [COUNT]]: every INTERVAL seconds (default 1), prints
 * the log2 histogram of run-queue latency the BPF side keeps in the hists
 * map, as bcc's runqlat does; stops after COUNT intervals (default: never). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libbpf-wasm.h"
#include "runqlat.wasm.h"
#include "runqlat.skel.h"

#define MAX_SLOTS 26

static void print_stars(unsigned int val, unsigned int val_max, int width)
{
	int num_stars = val_max ? (int)((unsigned long long)val * width / val_max) : 0;
	int i;

	for (i = 0; i < num_stars && i < width; i++)
		putchar('*');
	if (val > val_max)
		putchar('+');
}

/* bcc's print_log2_hist */
static void print_log2_hist(const uint32_t *vals, int vals_size, const char *val_type)
{
	int stars_max = 40, idx_max = -1;
	unsigned int val, val_max = 0;
	unsigned long long low, high;
	int stars, width, i;

	for (i = 0; i < vals_size; i++) {
		val = vals[i];
		if (val > 0)
			idx_max = i;
		if (val > val_max)
			val_max = val;
	}
	if (idx_max < 0)
		return;
	printf("%*s%-*s : count    distribution\n", idx_max <= 32 ? 5 : 15, "",
	       idx_max <= 32 ? 19 : 29, val_type);
	stars = idx_max <= 32 ? stars_max : stars_max / 2;
	for (i = 0; i <= idx_max; i++) {
		low = (1ULL << (i + 1)) >> 1;
		high = (1ULL << (i + 1)) - 1;
		if (low == high)
			low -= 1;
		val = vals[i];
		width = idx_max <= 32 ? 10 : 20;
		printf("%*llu -> %-*llu : %-8u |", width, low, width, high, val);
		print_stars(val, val_max, stars);
		printf("|\n");
	}
}

int main(int argc, char **argv)
{
	struct runqlat_bpf *skel;
	long interval = 1, count = -1;
	struct hist h;
	uint32_t zero = 0;
	int err, fd;

	if (argc > 1 && (interval = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "Usage: %s [INTERVAL [COUNT]]\n", argv[0]);
		return 1;
	}
	if (argc > 2 && (count = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "Usage: %s [INTERVAL [COUNT]]\n", argv[0]);
		return 1;
	}

	skel = runqlat_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton: %s\n", strerror(errno));
		return 1;
	}
	err = runqlat_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF programs: %s\n", strerror(-err));
		goto cleanup;
	}
	fd = bpf_map__fd(skel->maps.hists);
	printf("Tracing run queue latency... Hit Ctrl-C to end.\n");
	fflush(stdout);

	while (count < 0 || count-- > 0) {
		sleep((unsigned int)interval);
		err = bpf_map_lookup_elem(fd, &zero, &h);
		if (err) {
			fprintf(stderr, "Failed to read histogram: %s\n", strerror(-err));
			break;
		}
		/* .bss is an array map: read total_samples back from the kernel. */
		err = bpf_object__read_globals(skel->obj);
		if (err) {
			fprintf(stderr, "Failed to read globals: %s\n", strerror(-err));
			break;
		}
		printf("\n");
		print_log2_hist(h.slots, MAX_SLOTS, "usecs");
		printf("total samples: %llu\n", (unsigned long long)skel->bss->total_samples);
		fflush(stdout);
		memset(&h, 0, sizeof(h));
		err = bpf_map_update_elem(fd, &zero, &h, BPF_ANY);
		if (err) {
			fprintf(stderr, "Failed to clear histogram: %s\n", strerror(-err));
			break;
		}
	}
cleanup:
	runqlat_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
