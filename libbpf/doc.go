// Package libbpf is a thin cgo layer over the system's libbpf (1.4+).
//
// It mirrors libbpf's C API closely, so its behaviour is libbpf's: an
// [Object] is opened from memory with bpf_object__open_mem and loaded with
// bpf_object__load (CO-RE relocations against the running kernel's BTF);
// programs attach through bpf_program__attach* and become [Link]s;
// [RingBuffer] and [PerfBuffer] wrap ring_buffer__* and perf_buffer__* and
// hand every ready record to a Go callback synchronously, in the calling
// goroutine, without copying it first. Map operations take raw key and value
// pointers so callers can pass memory they do not own (a Wasm guest's linear
// memory) straight to the kernel.
//
// Nothing here raises RLIMIT_MEMLOCK: kernels since 5.11 account BPF memory
// to the memory cgroup, and libbpf 1.x only bumps the limit on kernels that
// lack that accounting.
//
// Errors wrap [syscall.Errno], so errors.Is(err, syscall.ENOENT) works.
package libbpf

// #cgo pkg-config: libbpf
// #cgo LDFLAGS: -lelf -lz
import "C"
