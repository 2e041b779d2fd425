/* sdkerr.c: loads diag.skel.h's object through sdk/c/libbpf-wasm.h and
 * prints what a C guest learns of a failed load: strerror(errno) and
 * libbpf_wasm_last_error() ("load: <strerror>: <explanation>"), or
 * "loaded". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libbpf-wasm.h"
#include "diag.skel.h"

int main(void)
{
	struct diag_bpf *skel = diag_bpf__open();
	int err;

	if (!skel) {
		printf("open: %s\n", strerror(errno));
		return 1;
	}
	err = diag_bpf__load(skel);
	if (err) {
		printf("load: %s: %s\n", strerror(-err), libbpf_wasm_last_error());
		diag_bpf__destroy(skel);
		return 1;
	}
	printf("loaded\n");
	diag_bpf__destroy(skel);
	return 0;
}
