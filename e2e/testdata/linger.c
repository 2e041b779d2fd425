/* linger.c: loads linger.bpf.o and keeps it; then N times loads it again,
 * puts the new object's wbln_big into the first object's wbln_outer
 * ("insert I RET") and closes the new object; prints "done" and returns
 * after a line on stdin.
 * usage: linger.wasm N */
#include "guest.h"
#include "linger_bpf.h"

int main(int argc, char **argv)
{
	uint64_t keep, h;
	uint32_t i, n;
	int32_t big;
	char line[8];

	if (argc != 2)
		die("usage: %s N", argv[0]);
	n = (uint32_t)atoi(argv[1]);
	keep = must_load(linger_bpf, linger_bpf_len);
	for (i = 0; i < n; i++) {
		h = must_load(linger_bpf, linger_bpf_len);
		big = must_map_fd(h, "wbln_big");
		say("insert %u %d", i,
		    wasm_bpf_map_operate(must_map_fd(keep, "wbln_outer"), WASM_BPF_MAP_UPDATE_ELEM, &i, &big, NULL, 0));
		wasm_close_bpf_object(h);
	}
	say("done");
	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed");
	return 0;
}
