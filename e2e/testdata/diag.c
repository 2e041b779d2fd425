/* diag.c: loads the embedded BPF object (diag_bpf.h) and attaches the
 * programs named in argv, each "NAME" or "NAME@TARGET". Prints "attached"
 * when all are; on the first failure prints what
 * wasm_bpf_ext.wasm_bpf_last_error says ("load failed: errno N: MESSAGE")
 * and exits 1. */
#include "guest.h"
#include "diag_bpf.h"

int wasm_bpf_last_error(char *buf, int size)
	__attribute__((import_module("wasm_bpf_ext"), import_name("wasm_bpf_last_error")));

static char msg[8192];

static int report(const char *what)
{
	int err = wasm_bpf_last_error(msg, sizeof(msg));

	say("%s failed: errno %d: %s", what, err, msg);
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t h = wasm_load_bpf_object(diag_bpf, diag_bpf_len);
	int i;

	if (!h)
		return report("load");
	for (i = 1; i < argc; i++) {
		char *target = strchr(argv[i], '@');

		if (target)
			*target++ = '\0';
		if (wasm_attach_bpf_program(h, argv[i], target) < 0)
			return report("attach");
	}
	say("attached");
	return 0;
}
