// The host functions on the hot paths, in C: wasmtime host functions of
// the unchecked kind, so a map call reaches bpf() and a batched poll
// reaches poll() without Go, Val boxing or a type look-up on the way.
#ifndef WASM_BPF_MAPOP_H
#define WASM_BPF_MAPOP_H

#include <stdint.h>
#include <wasmtime.h>

// What an fd of the process is to one guest: nothing, one of its maps, or
// one of its programs.
enum wb_kind { WB_NONE, WB_MAP, WB_PROG };

struct wb_fdinfo {
	uint32_t map_type; // the kernel's enum bpf_map_type
	uint32_t key_size;
	uint32_t value_size; // bytes a lookup writes: all CPUs for per-CPU maps
	uint8_t kind;	     // enum wb_kind
	uint64_t object;     // the handle of the BPF object the map or program belongs to
};

// A ring or perf buffer whose consumer exists: its fd, handle, and the
// libbpf package's struct wb_target (libbpf/shim.h).
struct wb_bufinfo {
	uint64_t handle;
	void *target;
	uint8_t valid;
};

// wb_maptab is one guest's map and program fds and its buffers, indexed by
// fd; Go keeps it in step with the guest's open objects (on the guest's own
// thread, so never while this code runs).
struct wb_maptab {
	struct wb_fdinfo *fds;
	int32_t cap;
	struct wb_bufinfo *bufs;
	int32_t bufcap;
	int wake_fd;  // the guest's waker: pause and stop interrupt a wait
	wasmtime_memory_t mem;
	int have_mem;
	uintptr_t log;  // cgo.Handle of the refusal logger
	uintptr_t slow; // cgo.Handle of the batched poll's Go path

	// The cause of the guest's last failed call (wasm_bpf_last_error):
	// last_src is WB_FAIL_C for a failure of the functions below,
	// WB_FAIL_GO for one the Go side recorded, 0 before any.
	int32_t last_src, last_func, last_fd, last_cmd, last_errno;
	char last_why[256]; // a copy (refusals format theirs on the stack); "": the kernel's answer
};

enum { WB_FAIL_C = 1, WB_FAIL_GO = 2 };
enum { WB_FUNC_MAPOP = 1, WB_FUNC_BATCH = 2 };

void wb_mapop_func(wasmtime_context_t *ctx, struct wb_maptab *t, wasmtime_func_t *out);
void wb_batch_func(wasmtime_context_t *ctx, struct wb_maptab *t, wasmtime_func_t *out);
int wb_maptab_set(struct wb_maptab *t, int32_t fd, uint64_t object, uint32_t map_type, uint32_t key_size,
		  uint32_t value_size);
int wb_progtab_set(struct wb_maptab *t, int32_t fd, uint64_t object);
int wb_buftab_set(struct wb_maptab *t, int32_t fd, uint64_t handle, void *target);

#endif
