// Package cabi serves the host functions on the hot paths in C: wasmtime
// "unchecked" functions whose bodies check the guest's arguments and call
// bpf() or poll() directly, so a call costs the guest little more than the
// syscall (a Go host function costs ~1 µs more).
//
// wasm_bpf_map_operate is served here entirely, as the ABI says
// (docs/abi.md): -EBADF for an fd that is not a map of this guest, and for
// a value or key the kernel would read as an fd that is not an object of
// this guest of the right kind (cabi.c has the table of them), -EINVAL for
// an unknown command, -EFAULT for a range outside guest memory, the
// kernel's result otherwise. wasm_bpf_ext's batched poll is
// served here when its buffer's consumer exists and its arguments are
// sound; any other call, and a wait that a pause or stop interrupted, goes
// to a Go function of the host's, which checks, explains and creates
// consumers.
package cabi

/*
#cgo CFLAGS: -I${SRCDIR}/../../../internal/wasmtimex/include -I${SRCDIR}/../../../libbpf
#cgo pkg-config: libbpf
#include <stdlib.h>
#include "cabi.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"syscall"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// RefusalFunc hears of every map call refused before the kernel saw it.
type RefusalFunc func(fd, cmd int32, errno syscall.Errno, why string)

// BatchFunc is the batched poll's Go path: it returns the host function's
// result, or a non-nil trap to end the guest with.
type BatchFunc func(handle uint64, fd, buf, size, timeoutMs int32) (int32, error)

// Table is one guest's map and program fds and its buffers, and the host
// functions that serve them.
type Table struct {
	t         *C.struct_wb_maptab // C memory: the host functions keep the pointer
	log, slow cgo.Handle
}

// New returns an empty table that reports map refusals to refused and
// hands batched polls it does not serve to slow. wakeFD interrupts waits
// (see libbpf.Waker).
func New(refused RefusalFunc, slow BatchFunc, wakeFD int) *Table {
	t := (*C.struct_wb_maptab)(C.calloc(1, C.sizeof_struct_wb_maptab))
	log, sl := cgo.NewHandle(refused), cgo.NewHandle(slow)
	t.log, t.slow, t.wake_fd = C.uintptr_t(log), C.uintptr_t(sl), C.int(wakeFD)
	return &Table{t: t, log: log, slow: sl}
}

// Set makes fd a map of the guest's object (its handle) of this type with
// these key and value sizes (value: the bytes a lookup writes).
func (t *Table) Set(fd int32, object uint64, typ libbpf.MapType, keySize, valueSize uint32) error {
	if fd < 0 {
		return fmt.Errorf("map fd %d: %w", fd, syscall.EBADF)
	}
	if rc := C.wb_maptab_set(t.t, C.int32_t(fd), C.uint64_t(object), C.uint32_t(typ), C.uint32_t(keySize), C.uint32_t(valueSize)); rc != 0 {
		return fmt.Errorf("map fd %d: %w", fd, syscall.Errno(-rc))
	}
	return nil
}

// SetProgram makes fd a program of the guest's object (its handle): a
// value of a map of the same object that carries a program fd may carry
// this one.
func (t *Table) SetProgram(fd int32, object uint64) error {
	if fd < 0 {
		return fmt.Errorf("program fd %d: %w", fd, syscall.EBADF)
	}
	if rc := C.wb_progtab_set(t.t, C.int32_t(fd), C.uint64_t(object)); rc != 0 {
		return fmt.Errorf("program fd %d: %w", fd, syscall.Errno(-rc))
	}
	return nil
}

// SetBuffer lets the C path poll fd, a buffer of handle, through target
// (a struct wb_target of package libbpf, valid until RemoveBuffer).
func (t *Table) SetBuffer(fd int32, handle uint64, target unsafe.Pointer) error {
	if fd < 0 {
		return fmt.Errorf("buffer fd %d: %w", fd, syscall.EBADF)
	}
	if rc := C.wb_buftab_set(t.t, C.int32_t(fd), C.uint64_t(handle), target); rc != 0 {
		return fmt.Errorf("buffer fd %d: %w", fd, syscall.Errno(-rc))
	}
	return nil
}

// Remove forgets fd, as a map or program and as a buffer.
func (t *Table) Remove(fd int32) {
	if fd >= 0 && fd < int32(t.t.cap) {
		unsafe.Slice(t.t.fds, t.t.cap)[fd].kind = C.WB_NONE
	}
	if fd >= 0 && fd < int32(t.t.bufcap) {
		unsafe.Slice(t.t.bufs, t.t.bufcap)[fd] = C.struct_wb_bufinfo{}
	}
}

// MapOperate creates wasm_bpf.wasm_bpf_map_operate in store; t must
// outlive the store.
func (t *Table) MapOperate(store *wasmtime.Store) *wasmtime.Func {
	var raw C.wasmtime_func_t
	C.wb_mapop_func((*C.wasmtime_context_t)(unsafe.Pointer(store.Context())), t.t, &raw)
	return wrap(raw)
}

// PollBatch creates wasm_bpf_ext.wasm_bpf_buffer_poll_batch in store; t
// must outlive the store.
func (t *Table) PollBatch(store *wasmtime.Store) *wasmtime.Func {
	var raw C.wasmtime_func_t
	C.wb_batch_func((*C.wasmtime_context_t)(unsafe.Pointer(store.Context())), t.t, &raw)
	return wrap(raw)
}

func wrap(raw C.wasmtime_func_t) *wasmtime.Func {
	f := new(wasmtime.Func)
	// wasmtime-go's Func is exactly a wasmtime_func_t (checked below).
	*(*C.wasmtime_func_t)(unsafe.Pointer(f)) = raw
	return f
}

var _ = [1]struct{}{}[unsafe.Sizeof(wasmtime.Func{})-C.sizeof_wasmtime_func_t]

// Free releases the table; the store that holds its functions must be
// closed first.
func (t *Table) Free() {
	C.free(unsafe.Pointer(t.t.fds))
	C.free(unsafe.Pointer(t.t.bufs))
	C.free(unsafe.Pointer(t.t))
	t.log.Delete()
	t.slow.Delete()
	t.t = nil
}

// Failure is the cause of a failed call of a function served here.
type Failure struct {
	Func  string // "wasm_bpf_map_operate" or "wasm_bpf_buffer_poll_batch"
	FD    int32
	Cmd   int32 // wasm_bpf_map_operate's command
	Errno syscall.Errno
	Why   string // the refusal, or "" when it is the kernel's answer
}

// LastFailure returns the cause of the guest's last failed call if it
// was one of the functions served here; ok is false when the last failure
// the table heard of is one NoteFailure recorded, or none.
func (t *Table) LastFailure() (f Failure, ok bool) {
	if t.t.last_src != C.WB_FAIL_C {
		return Failure{}, false
	}
	f = Failure{Func: "wasm_bpf_map_operate", FD: int32(t.t.last_fd), Cmd: int32(t.t.last_cmd), Errno: syscall.Errno(t.t.last_errno)}
	if t.t.last_func == C.WB_FUNC_BATCH {
		f.Func = "wasm_bpf_buffer_poll_batch"
	}
	if t.t.last_why[0] != 0 {
		f.Why = C.GoString(&t.t.last_why[0])
	}
	return f, true
}

// NoteFailure records that the guest's last failed call is one the
// caller keeps the cause of (a host function served in Go).
func (t *Table) NoteFailure() { t.t.last_src = C.WB_FAIL_GO }

//export wbMapopRefused
func wbMapopRefused(h C.uintptr_t, fd, cmd C.int32_t, code C.int, why *C.char) {
	cgo.Handle(h).Value().(RefusalFunc)(int32(fd), int32(cmd), syscall.Errno(code), C.GoString(why))
}

//export wbBatchSlow
func wbBatchSlow(h C.uintptr_t, handle C.uint64_t, fd, buf, size, timeout C.int32_t, trap **C.char) C.int32_t {
	rc, err := cgo.Handle(h).Value().(BatchFunc)(uint64(handle), int32(fd), int32(buf), int32(size), int32(timeout))
	if err != nil {
		*trap = C.CString(err.Error()) // freed by the caller
	}
	return C.int32_t(rc)
}
