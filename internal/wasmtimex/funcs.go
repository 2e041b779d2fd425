package wasmtimex

// #cgo CFLAGS: -I${SRCDIR}/include
// #include <wasmtime.h>
import "C"

import (
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

// SameFunc reports whether a and b are the same function of a store (a
// funcref read from a table twice gives two *Func values).
func SameFunc(a, b *wasmtime.Func) bool {
	return *(*C.wasmtime_func_t)(unsafe.Pointer(a)) == *(*C.wasmtime_func_t)(unsafe.Pointer(b))
}
