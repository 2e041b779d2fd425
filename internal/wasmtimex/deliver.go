package wasmtimex

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include <string.h>
#include <wasmtime.h>

// wbx_deliver is the C sample function of a classic poll: it copies the
// record into the guest's buffer and calls the guest's callback, with no Go
// on the way. Its state is one poll's.
struct wbx_deliver {
	wasmtime_context_t *ctx;
	wasmtime_memory_t mem;
	wasmtime_func_t fn;
	int32_t cb_ctx;
	uint32_t data, max;
	int failed; // 1: a trap or error, 2: proc_exit(status)
	int status;
	char *msg;
};

static int wbx_deliver(void *p, void *rec, uint32_t size)
{
	struct wbx_deliver *d = p;
	// The guest may have grown, and so moved, its memory in the last callback.
	uint8_t *base = wasmtime_memory_data(d->ctx, &d->mem);
	size_t len = wasmtime_memory_data_size(d->ctx, &d->mem);
	uint32_t n = size < d->max ? size : d->max;
	wasmtime_val_raw_t vals[3];
	wasm_trap_t *trap = NULL;
	wasm_message_t msg = { 0, NULL };

	if ((uint64_t)d->data + d->max > len)
		return -14; // -EFAULT: cannot happen, memory does not shrink
	memcpy(base + d->data, rec, n);
	memset(vals, 0, sizeof(vals));
	vals[0].i32 = d->cb_ctx;
	vals[1].i32 = (int32_t)d->data;
	vals[2].i32 = (int32_t)n;
	wasmtime_error_t *err = wasmtime_func_call_unchecked(d->ctx, &d->fn, vals, 3, &trap);
	if (err) {
		d->failed = wasmtime_error_exit_status(err, &d->status) ? 2 : 1;
		wasmtime_error_message(err, &msg);
		wasmtime_error_delete(err);
	} else if (trap) {
		d->failed = 1;
		wasm_trap_message(trap, &msg);
		wasm_trap_delete(trap);
	} else {
		return vals[0].i32;
	}
	d->msg = malloc(msg.size + 1);
	if (d->msg) {
		memcpy(d->msg, msg.data, msg.size);
		d->msg[msg.size] = 0;
	}
	wasm_byte_vec_delete(&msg);
	return -1;
}

static void *wbx_deliver_fn(void) { return (void *)wbx_deliver; }

// As the poll calls it, for tests and benchmarks.
static int wbx_deliver_one(void *p, void *rec, uint32_t size) { return wbx_deliver(p, rec, size); }
*/
import "C"

import (
	"strings"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// Deliverer carries one classic poll's records into the guest from C: with
// libbpf.PollDirect(Fn(), Ctx()), each record is copied into
// guest[data:data+max] (cut to max) and f(cbCtx, data, n) is called
// through wasmtime_func_call_unchecked. f must have the type (i32, i32,
// i32) -> i32 (checked by the caller); store must be the context of the
// host call the poll runs in. Free it when the poll returns.
type Deliverer struct {
	d *C.struct_wbx_deliver // C memory: C reads it during the poll
}

// wasmtime-go's Memory must be exactly a wasmtime_memory_t: this fails to
// compile otherwise.
var _ = [1]struct{}{}[unsafe.Sizeof(wasmtime.Memory{})-C.sizeof_wasmtime_memory_t]

// NewDeliverer prepares the delivery of records to f.
func NewDeliverer(store wasmtime.Storelike, mem *wasmtime.Memory, f *wasmtime.Func, cbCtx int32, data, max uint32) *Deliverer {
	d := (*C.struct_wbx_deliver)(C.calloc(1, C.sizeof_struct_wbx_deliver))
	d.ctx = (*C.wasmtime_context_t)(unsafe.Pointer(store.Context()))
	d.mem = *(*C.wasmtime_memory_t)(unsafe.Pointer(mem))
	d.fn = *(*C.wasmtime_func_t)(unsafe.Pointer(f))
	d.cb_ctx, d.data, d.max = C.int32_t(cbCtx), C.uint32_t(data), C.uint32_t(max)
	return &Deliverer{d: d}
}

// Fn is the C sample function; Ctx its argument.
func (d *Deliverer) Fn() unsafe.Pointer  { return C.wbx_deliver_fn() }
func (d *Deliverer) Ctx() unsafe.Pointer { return unsafe.Pointer(d.d) }

// Err is what ended the guest inside a callback: a *Trap or an *Exit, or
// nil.
func (d *Deliverer) Err() error {
	if d.d.failed == 0 {
		return nil
	}
	msg := "guest call failed"
	if d.d.msg != nil {
		msg = strings.TrimSpace(C.GoString(d.d.msg))
	}
	if d.d.failed == 2 {
		return &Exit{Code: int(d.d.status), Message: msg}
	}
	return &Trap{Message: msg}
}

// deliver hands rec to the guest as a poll would: for tests and benchmarks
// (rec must not be empty).
func (d *Deliverer) deliver(rec []byte) int32 {
	return int32(C.wbx_deliver_one(unsafe.Pointer(d.d), unsafe.Pointer(&rec[0]), C.uint32_t(len(rec))))
}

// Free releases the delivery state.
func (d *Deliverer) Free() {
	C.free(unsafe.Pointer(d.d.msg))
	C.free(unsafe.Pointer(d.d))
}
