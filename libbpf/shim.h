// C glue for the cgo callbacks and for libbpf's variadic print hook, which
// Go cannot implement directly.
#ifndef WASM_BPF_LIBBPF_SHIM_H
#define WASM_BPF_LIBBPF_SHIM_H

#include <stdint.h>
#include <bpf/libbpf.h>

void wb_install_print(void);
struct ring_buffer *wb_ring_buffer_new(int map_fd, uintptr_t handle);
int wb_ring_buffer_add(struct ring_buffer *rb, int map_fd, uintptr_t handle);
struct perf_buffer *wb_perf_buffer_new(int map_fd, size_t page_cnt, uintptr_t handle);
int wb_wait(int epoll_fd, int wake_fd, int timeout_ms);

#endif
