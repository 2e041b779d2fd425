/* pinned.c: loads pinned.bpf.o, writes 42 into its map, reads it back and
 * prints "value <v>". */
#include "guest.h"
#include "pinned_bpf.h"

int main(void)
{
	uint64_t h = must_load(pinned_bpf, pinned_bpf_len);
	int fd = must_map_fd(h, "wbpinned_map");
	uint32_t key = 0;
	uint64_t value = 0;

	wasm_bpf_map_operate(fd, WASM_BPF_MAP_LOOKUP_ELEM, &key, &value, NULL, 0);
	say("value %llu", (unsigned long long)value);
	value = 42;
	wasm_bpf_map_operate(fd, WASM_BPF_MAP_UPDATE_ELEM, &key, &value, NULL, 0);
	return 0;
}
