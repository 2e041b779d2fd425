// Package clock serves WASI's clock_time_get in C: guests read the clock
// per event (timestamps, durations), and a host function in Go costs ~0.5
// µs where this costs the vDSO's ~20 ns. CLOCK_MONOTONIC is the host's,
// the clock of the kernel's bpf_ktime_get_ns().
package clock

/*
#cgo CFLAGS: -I${SRCDIR}/../../../internal/wasmtimex/include
#include <stdlib.h>
#include <wasmtime.h>

void wb_clock_func(wasmtime_context_t *ctx, wasmtime_func_t *out);
*/
import "C"

import (
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// Func creates clock_time_get(id i32, precision i64, time i32) -> errno
// in store, to be defined as wasi_snapshot_preview1.clock_time_get.
func Func(store *wasmtime.Store) *wasmtime.Func {
	var raw C.wasmtime_func_t
	C.wb_clock_func((*C.wasmtime_context_t)(unsafe.Pointer(store.Context())), &raw)
	f := new(wasmtime.Func)
	// wasmtime-go's Func is exactly a wasmtime_func_t (checked below).
	*(*C.wasmtime_func_t)(unsafe.Pointer(f)) = raw
	return f
}

var _ = [1]struct{}{}[unsafe.Sizeof(wasmtime.Func{})-C.sizeof_wasmtime_func_t]
