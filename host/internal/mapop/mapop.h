// wasm_bpf_map_operate in C: a wasmtime host function of the unchecked kind,
// so a map call from the guest reaches the bpf() syscall without Go, Val
// boxing or a type look-up on the way.
#ifndef WASM_BPF_MAPOP_H
#define WASM_BPF_MAPOP_H

#include <stdint.h>
#include <wasmtime.h>

struct wb_mapinfo {
	uint32_t key_size;
	uint32_t value_size; // bytes a lookup writes: all CPUs for per-CPU maps
	uint8_t valid;
};

// wb_maptab is one guest's map fds, indexed by fd; Go keeps it in step
// with the guest's open objects (on the guest's own thread, so never
// while this code runs).
struct wb_maptab {
	struct wb_mapinfo *fds;
	int32_t cap;
	wasmtime_memory_t mem;
	int have_mem;
	uintptr_t log; // cgo.Handle of the refusal logger
};

void wb_mapop_func(wasmtime_context_t *ctx, struct wb_maptab *t, wasmtime_func_t *out);
int wb_maptab_set(struct wb_maptab *t, int32_t fd, uint32_t key_size, uint32_t value_size);

#endif
