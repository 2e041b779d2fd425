/* wasm-bpf.h: the raw host ABI of wasm-bpf (import module "wasm_bpf" and the
 * "callback-wrapper" poll), for C guests built with clang --target=wasm32-wasi.
 * The contract is docs/abi.md in the repository; signatures
 * match the existing C++ and Rust runtimes, so guests built against this
 * header run on them too. Higher-level helpers (skeletons, bpf_buffer) build
 * on these six functions. */
#ifndef WASM_BPF_H
#define WASM_BPF_H

#include <stdint.h>

#define WASM_BPF_IMPORT(name) \
	__attribute__((import_module("wasm_bpf"), import_name(#name)))

/* bpf_cmd numbers accepted by wasm_bpf_map_operate. */
#define WASM_BPF_MAP_LOOKUP_ELEM 1
#define WASM_BPF_MAP_UPDATE_ELEM 2
#define WASM_BPF_MAP_DELETE_ELEM 3
#define WASM_BPF_MAP_GET_NEXT_KEY 4

/* A record callback; on wasm32 a function pointer is its index in the
 * exported table __indirect_function_table (link with -Wl,--export-table). */
typedef int (*wasm_bpf_sample_fn)(void *ctx, void *data, unsigned int size);

/* Returns a handle, or 0 on any failure. */
uint64_t wasm_load_bpf_object(const void *obj_buf, int obj_buf_sz)
	WASM_BPF_IMPORT(wasm_load_bpf_object);
int wasm_close_bpf_object(uint64_t handle) WASM_BPF_IMPORT(wasm_close_bpf_object);
int wasm_attach_bpf_program(uint64_t handle, const char *name,
			    const char *attach_target)
	WASM_BPF_IMPORT(wasm_attach_bpf_program);
int wasm_bpf_buffer_poll(uint64_t handle, int fd, int32_t sample_func,
			 uint32_t ctx, char *data, int max_size, int timeout_ms)
	WASM_BPF_IMPORT(wasm_bpf_buffer_poll);
int wasm_bpf_map_fd_by_name(uint64_t handle, const char *name)
	WASM_BPF_IMPORT(wasm_bpf_map_fd_by_name);
int wasm_bpf_map_operate(int fd, int cmd, void *key, void *value,
			 void *next_key, uint64_t flags)
	WASM_BPF_IMPORT(wasm_bpf_map_operate);

#endif /* WASM_BPF_H */
