// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lsm NAME [SECONDS]: while it runs (SECONDS, default until stopped), no
 * directory named NAME can be removed: rmdir fails with EPERM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libbpf-wasm.h"
#include "lsm.skel.h"

int main(int argc, char **argv)
{
	struct lsm_bpf *skel;
	long seconds = -1;
	int err;

	if (argc < 2 || argc > 3 || !argv[1][0] ||
	    strlen(argv[1]) >= sizeof(skel->rodata->target_name) ||
	    (argc == 3 && (seconds = strtol(argv[2], NULL, 10)) <= 0)) {
		fprintf(stderr, "Usage: %s NAME [SECONDS]\n", argv[0]);
		return 1;
	}
	skel = lsm_bpf__open();
	if (!skel) {
		fprintf(stderr, "Failed to open BPF skeleton: %s\n", strerror(errno));
		return 1;
	}
	strcpy(skel->rodata->target_name, argv[1]);
	err = lsm_bpf__load(skel);
	if (err) {
		/* The runtime has said why, in the line above. */
		fprintf(stderr, "lsm: the BPF LSM program was not loaded\n");
		goto cleanup;
	}
	err = lsm_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "lsm: the BPF LSM program was not attached (%s)\n", strerror(-err));
		goto cleanup;
	}
	printf("Denying rmdir of directories named %s\n", argv[1]);
	fflush(stdout);
	while (seconds < 0 || seconds-- > 0)
		sleep(1);
	err = bpf_object__read_globals(skel->obj);
	if (!err)
		printf("denied %llu rmdir(s)\n", (unsigned long long)skel->bss->denied);
cleanup:
	lsm_bpf__destroy(skel);
	return err < 0 ? 1 : 0;
}
