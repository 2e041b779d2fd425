/* policy.c: loads policy.bpf.o (one case of it, embedded as policy_bpf),
 * attaches one program and reports, for the capability policy's tests:
 *   policy PROG [TARGET|-] [COMM]
 * TARGET is the attach target ("-": none); COMM, if given, goes into
 * wbpol_cfg[0] for the cases that act on one process. It prints
 *   "load refused" when the load returns 0,
 *   "attach ERR"   when the attach fails (the negative errno),
 *   "ready"        once attached;
 * then waits for lines on stdin (the test looks into the kernel meanwhile):
 * if it loaded, it prints "count N" from wbpol_out[0] for each; it exits 0
 * after the line "end" (or after any line, if the load was refused). */
#include "guest.h"
#include "policy_bpf.h"

#define BPF_MAP_LOOKUP_ELEM 1
#define BPF_MAP_UPDATE_ELEM 2

static void wait_line(void)
{
	char line[64];

	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed");
}

int main(int argc, char **argv)
{
	const char *target = NULL;
	uint64_t h, n = 0;
	uint32_t zero = 0;
	int err;

	if (argc < 2 || argc > 4)
		die("usage: %s PROG [TARGET|-] [COMM]", argv[0]);
	if (argc >= 3 && strcmp(argv[2], "-") != 0)
		target = argv[2];
	h = wasm_load_bpf_object(policy_bpf, (int)policy_bpf_len);
	if (!h) {
		say("load refused");
		wait_line();
		return 0;
	}
	if (argc == 4) {
		char comm[16] = { 0 };

		strncpy(comm, argv[3], sizeof(comm) - 1);
		err = wasm_bpf_map_operate(must_map_fd(h, "wbpol_cfg"), BPF_MAP_UPDATE_ELEM,
					   &zero, comm, NULL, 0);
		if (err)
			die("update wbpol_cfg: %d", err);
	}
	err = wasm_attach_bpf_program(h, argv[1], target);
	if (err < 0)
		say("attach %d", err);
	else
		say("ready");
	for (;;) {
		char line[64];

		if (!fgets(line, sizeof(line), stdin))
			die("stdin closed");
		err = wasm_bpf_map_operate(must_map_fd(h, "wbpol_out"), BPF_MAP_LOOKUP_ELEM, &zero, &n, NULL, 0);
		if (err)
			die("lookup wbpol_out: %d", err);
		say("count %llu", (unsigned long long)n);
		if (strcmp(line, "end\n") == 0)
			return 0;
	}
}
