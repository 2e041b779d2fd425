package wasmtimex

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include <string.h>
#include <wasmtime.h>

struct wbx_result {
	int32_t ret;
	int failed;     // 0: ret is valid; 1: trapped; 2: exited with status
	int status;
	char *message;  // malloc'ed, when failed
};

static char *wbx_take(wasm_message_t *v)
{
	char *s = malloc(v->size + 1);
	if (s) {
		memcpy(s, v->data, v->size);
		s[v->size] = 0;
	}
	wasm_byte_vec_delete(v);
	return s;
}

// wbx_call_i32x3 calls func(a, b, c) -> i32 with no type look-up: the
// caller has checked the function's type once.
static struct wbx_result wbx_call_i32x3(wasmtime_context_t *ctx, wasmtime_func_t func, int32_t a, int32_t b,
					int32_t c)
{
	struct wbx_result r = { 0, 0, 0, NULL }, *res = &r;
	wasmtime_val_raw_t vals[3];
	wasm_trap_t *trap = NULL;
	wasm_message_t msg = { 0, NULL };

	memset(vals, 0, sizeof(vals));
	vals[0].i32 = a;
	vals[1].i32 = b;
	vals[2].i32 = c;
	wasmtime_error_t *err = wasmtime_func_call_unchecked(ctx, &func, vals, 3, &trap);
	if (err) {
		res->failed = wasmtime_error_exit_status(err, &res->status) ? 2 : 1;
		wasmtime_error_message(err, &msg);
		res->message = wbx_take(&msg);
		wasmtime_error_delete(err);
		return r;
	}
	if (trap) {
		res->failed = 1;
		wasm_trap_message(trap, &msg);
		res->message = wbx_take(&msg);
		wasm_trap_delete(trap);
		return r;
	}
	res->ret = vals[0].i32;
	return r;
}
*/
import "C"

import (
	"strings"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// wasmtime-go's Func must be exactly a wasmtime_func_t: this fails to
// compile otherwise.
var _ = [1]struct{}{}[unsafe.Sizeof(wasmtime.Func{})-C.sizeof_wasmtime_func_t]

// Trap is a trap, or another error that ended a guest call early.
type Trap struct{ Message string }

func (t *Trap) Error() string { return t.Message }

// Exit is a WASI proc_exit during a guest call.
type Exit struct {
	Code    int
	Message string
}

func (e *Exit) Error() string { return e.Message }

// CallI32x3 calls f(a, b, c) -> i32 through wasmtime_func_call_unchecked:
// no type look-up and no Val boxing, so a call costs a fraction of
// (*wasmtime.Func).Call. The caller must have checked that f has exactly
// the type (i32, i32, i32) -> i32; anything else is undefined behaviour.
// A trap returns a *Trap, proc_exit an *Exit.
func CallI32x3(store wasmtime.Storelike, f *wasmtime.Func, a, b, c int32) (int32, error) {
	// wasmtime-go's Func is exactly a wasmtime_func_t (store id, private
	// pointer); it is copied by value here.
	fn := *(*C.wasmtime_func_t)(unsafe.Pointer(f))
	// The result comes back by value: a pointer to it would escape to the heap.
	res := C.wbx_call_i32x3((*C.wasmtime_context_t)(unsafe.Pointer(store.Context())), fn, C.int32_t(a), C.int32_t(b), C.int32_t(c))
	if res.failed == 0 {
		return int32(res.ret), nil
	}
	msg := "guest call failed"
	if res.message != nil {
		msg = strings.TrimSpace(C.GoString(res.message))
		C.free(unsafe.Pointer(res.message))
	}
	if res.failed == 2 {
		return 0, &Exit{Code: int(res.status), Message: msg}
	}
	return 0, &Trap{Message: msg}
}

// SameFunc reports whether a and b are the same function of a store (a
// funcref read from a table twice gives two *Func values).
func SameFunc(a, b *wasmtime.Func) bool {
	return *(*C.wasmtime_func_t)(unsafe.Pointer(a)) == *(*C.wasmtime_func_t)(unsafe.Pointer(b))
}
