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
// kernel's result otherwise. The three polls (wasm_bpf's, the
// callback-wrapper's and wasm_bpf_ext's batched poll) are served here when
// their buffer's consumer exists and their arguments are sound, records
// and callbacks included; they ask the host (Host) for the rest: a first
// poll, which creates the consumer, the log line and record of a refusal
// or failure, a pause or stop, a callback that ended the guest.
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
	"strings"
	"syscall"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/internal/wasmtimex"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// RefusalFunc hears of every map call refused before the kernel saw it.
type RefusalFunc func(fd, cmd int32, errno syscall.Errno, why string)

// PollKind names the poll a Host call is about.
type PollKind int

const (
	PollTable   PollKind = C.WB_POLL_TABLE   // wasm_bpf.wasm_bpf_buffer_poll
	PollWrapper PollKind = C.WB_POLL_WRAPPER // the callback-wrapper's wasm_bpf_buffer_poll
	PollBatch   PollKind = C.WB_POLL_BATCH   // wasm_bpf_ext.wasm_bpf_buffer_poll_batch
)

// Host is what the polls served in C ask of the host, on the guest's
// thread, inside the guest's call.
type Host interface {
	// PollSetup is a poll of a buffer the C path does not know: it checks
	// the handle and fd and creates the buffer's consumer (SetBuffer).
	// It returns 0 to go on, or the poll's result (-errno).
	PollSetup(k PollKind, handle uint64, fd int32) int32
	// PollRefused hears why the C path refused a poll, for the log and
	// wasm_bpf_last_error; args are slog's.
	PollRefused(k PollKind, errno syscall.Errno, why string, args ...any)
	// PollWoken waits out the pause that interrupted a poll; an error (the
	// guest was stopped) ends the guest with a trap.
	PollWoken() error
	// PollEnded hears that a callback ended the guest: a *wasmtimex.Trap or
	// a *wasmtimex.Exit. The poll traps with its message.
	PollEnded(err error)
	// PollFailed hears of a poll of fd that failed in libbpf or the
	// kernel, for the log and wasm_bpf_last_error.
	PollFailed(k PollKind, fd int32, errno syscall.Errno)
	// PollClosed finishes the closes put off while polls ran (SetClosing).
	PollClosed()
}

// Table is one guest's map and program fds and its buffers, and the host
// functions that serve them.
type Table struct {
	t         *C.struct_wb_maptab // C memory: the host functions keep the pointer
	log, host cgo.Handle
}

// New returns an empty table that reports map refusals to refused and asks
// host what the polls cannot decide. wakeFD and wakeFlag are the guest's
// Waker (libbpf.Waker's FD and Flag): a pause or stop interrupts a poll's
// wait, and its delivery before the next record.
func New(refused RefusalFunc, host Host, wakeFD int, wakeFlag unsafe.Pointer) *Table {
	t := (*C.struct_wb_maptab)(C.calloc(1, C.sizeof_struct_wb_maptab))
	log, h := cgo.NewHandle(refused), cgo.NewHandle(host)
	t.log, t.host, t.wake_fd = C.uintptr_t(log), C.uintptr_t(h), C.int(wakeFD)
	t.raised = (*C.int)(wakeFlag)
	return &Table{t: t, log: log, host: h}
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

// Polls creates the three polls in store: wasm_bpf's, the
// callback-wrapper's (whose records go to the guest's export callback),
// and wasm_bpf_ext's batched poll. t must outlive the store.
func (t *Table) Polls(store *wasmtime.Store, callback string) (table, wrapper, batch *wasmtime.Func) {
	C.free(unsafe.Pointer(t.t.callback_name))
	t.t.callback_name = C.CString(callback)
	var rt, rw, rb C.wasmtime_func_t
	C.wb_poll_funcs((*C.wasmtime_context_t)(unsafe.Pointer(store.Context())), t.t, &rt, &rw, &rb)
	return wrap(rt), wrap(rw), wrap(rb)
}

// SetClosing tells the polls whether the host has closes to finish
// (PollClosed) when a poll returns.
func (t *Table) SetClosing(on bool) {
	t.t.closing = 0
	if on {
		t.t.closing = 1
	}
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
	C.free(unsafe.Pointer(t.t.callback_name))
	C.free(unsafe.Pointer(t.t))
	t.log.Delete()
	t.host.Delete()
	t.t = nil
}

// Failure is the cause of a failed wasm_bpf_map_operate.
type Failure struct {
	FD    int32
	Cmd   int32 // wasm_bpf_map_operate's command
	Errno syscall.Errno
	Why   string // the refusal, or "" when it is the kernel's answer
}

// LastFailure returns the cause of the guest's last failed call if it
// was a wasm_bpf_map_operate; ok is false when the last failure the table
// heard of is one NoteFailure recorded (the polls' among them), or none.
func (t *Table) LastFailure() (f Failure, ok bool) {
	if t.t.last_src != C.WB_FAIL_C {
		return Failure{}, false
	}
	f = Failure{FD: int32(t.t.last_fd), Cmd: int32(t.t.last_cmd), Errno: syscall.Errno(t.t.last_errno)}
	if t.t.last_why[0] != 0 {
		f.Why = C.GoString(&t.t.last_why[0])
	}
	return f, true
}

// NoteFailure records that the guest's last failed call is one the
// caller keeps the cause of (a host function served in Go, or a poll).
func (t *Table) NoteFailure() { t.t.last_src = C.WB_FAIL_GO }

//export wbMapopRefused
func wbMapopRefused(h C.uintptr_t, fd, cmd C.int32_t, code C.int, why *C.char) {
	cgo.Handle(h).Value().(RefusalFunc)(int32(fd), int32(cmd), syscall.Errno(code), C.GoString(why))
}

//export wbPoll
func wbPoll(h C.uintptr_t, op C.int, r *C.struct_wb_pollreq) C.int32_t {
	host := cgo.Handle(h).Value().(Host)
	k := PollKind(r.kind)
	switch op {
	case C.WB_ASK_SETUP:
		return C.int32_t(host.PollSetup(k, uint64(r.handle), int32(r.fd)))
	case C.WB_ASK_REFUSED:
		var args []any
		if r.key1 != nil {
			args = append(args, C.GoString(r.key1), int64(r.val1))
		}
		if r.key2 != nil {
			args = append(args, C.GoString(r.key2), int64(r.val2))
		}
		if r.skey != nil {
			args = append(args, C.GoString(r.skey), C.GoString(r.sval))
		}
		host.PollRefused(k, syscall.Errno(r.err), C.GoString(r.why), args...)
	case C.WB_ASK_WOKEN:
		if err := host.PollWoken(); err != nil {
			r.trap = C.CString(err.Error()) // freed by the caller
		}
	case C.WB_ASK_ENDED:
		msg := "guest call failed"
		if r.msg_len > 0 {
			msg = strings.TrimSpace(C.GoStringN(r.msg, C.int(r.msg_len)))
		}
		var err error = &wasmtimex.Trap{Message: msg}
		if r.failed == 2 {
			err = &wasmtimex.Exit{Code: int(r.status), Message: msg}
		}
		host.PollEnded(err)
		r.trap = C.CString(err.Error())
	case C.WB_ASK_FAILED:
		host.PollFailed(k, int32(r.fd), syscall.Errno(-r.rc))
	case C.WB_ASK_CLOSED:
		host.PollClosed()
	}
	return 0
}
