// Package mapop serves wasm_bpf_map_operate in C: the host function is a
// wasmtime "unchecked" function whose body bounds-checks the guest's key
// and value ranges and calls bpf() directly, so a map call costs the guest
// little more than the syscall (a Go host function costs ~1 µs more). Its
// behaviour is the ABI's (shared/abi.md): -EBADF for an fd that is not a
// map of this guest, -EINVAL for an unknown command, -EFAULT for a range
// outside guest memory, the kernel's result otherwise.
package mapop

/*
#cgo CFLAGS: -I${SRCDIR}/../../../internal/wasmtimex/include
#cgo pkg-config: libbpf
#include <stdlib.h>
#include "mapop.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"syscall"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// RefusalFunc hears of every call refused before the kernel saw it.
type RefusalFunc func(fd, cmd int32, errno syscall.Errno, why string)

// Table is one guest's map fds and the host function that serves them.
type Table struct {
	t   *C.struct_wb_maptab // C memory: the host function keeps the pointer
	log cgo.Handle
}

// New returns an empty table that reports refusals to refused.
func New(refused RefusalFunc) *Table {
	t := (*C.struct_wb_maptab)(C.calloc(1, C.sizeof_struct_wb_maptab))
	h := cgo.NewHandle(refused)
	t.log = C.uintptr_t(h)
	return &Table{t: t, log: h}
}

// Set makes fd a map of the guest with these key and value sizes (value:
// the bytes a lookup writes).
func (t *Table) Set(fd int32, keySize, valueSize uint32) error {
	if fd < 0 {
		return fmt.Errorf("map fd %d: %w", fd, syscall.EBADF)
	}
	if rc := C.wb_maptab_set(t.t, C.int32_t(fd), C.uint32_t(keySize), C.uint32_t(valueSize)); rc != 0 {
		return fmt.Errorf("map fd %d: %w", fd, syscall.Errno(-rc))
	}
	return nil
}

// Remove forgets fd.
func (t *Table) Remove(fd int32) {
	if fd >= 0 && fd < int32(t.t.cap) {
		entry := (*[1 << 28]C.struct_wb_mapinfo)(unsafe.Pointer(t.t.fds))[fd : fd+1 : fd+1]
		entry[0].valid = 0
	}
}

// Func creates the host function in store; define it in the linker as
// wasm_bpf.wasm_bpf_map_operate. t must outlive the store.
func (t *Table) Func(store *wasmtime.Store) *wasmtime.Func {
	var raw C.wasmtime_func_t
	C.wb_mapop_func((*C.wasmtime_context_t)(unsafe.Pointer(store.Context())), t.t, &raw)
	f := new(wasmtime.Func)
	// wasmtime-go's Func is exactly a wasmtime_func_t (checked below).
	*(*C.wasmtime_func_t)(unsafe.Pointer(f)) = raw
	return f
}

var _ = [1]struct{}{}[unsafe.Sizeof(wasmtime.Func{})-C.sizeof_wasmtime_func_t]

// Free releases the table; the store that holds its function must be
// closed first.
func (t *Table) Free() {
	C.free(unsafe.Pointer(t.t.fds))
	C.free(unsafe.Pointer(t.t))
	t.log.Delete()
	t.t = nil
}

//export wbMapopRefused
func wbMapopRefused(h C.uintptr_t, fd, cmd C.int32_t, code C.int, why *C.char) {
	cgo.Handle(h).Value().(RefusalFunc)(int32(fd), int32(cmd), syscall.Errno(code), C.GoString(why))
}
