package wasmtimex

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdint.h>
#include <stdlib.h>
#include <wasmtime.h>

extern char *wbxEpochDeadline(uintptr_t handle, uint64_t *delta);
extern void wbxEpochFinalize(uintptr_t handle);

static wasmtime_error_t *wbx_epoch_cb(wasmtime_context_t *ctx, void *data, uint64_t *delta,
				      wasmtime_update_deadline_kind_t *kind)
{
	char *msg = wbxEpochDeadline((uintptr_t)data, delta);
	*kind = 0; // WASMTIME_UPDATE_DEADLINE_CONTINUE
	if (msg == NULL)
		return NULL;
	wasmtime_error_t *err = wasmtime_error_new(msg);
	free(msg);
	return err;
}

static void wbx_epoch_fin(void *data)
{
	wbxEpochFinalize((uintptr_t)data);
}

static int wbx_set_epoch_callback(wasmtime_store_t *store, wasmtime_context_t *want, uintptr_t handle)
{
	if (wasmtime_store_context(store) != want)
		return -1;
	wasmtime_store_epoch_deadline_callback(store, wbx_epoch_cb, (void *)handle, wbx_epoch_fin);
	return 0;
}
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// DeadlineFunc decides what happens when a store reaches its epoch
// deadline: continue for delta more epochs (nil error), or trap the guest
// with err's message. It runs on the guest's thread, inside Wasm, so it may
// block to pause the guest.
type DeadlineFunc func() (delta uint64, err error)

//export wbxEpochDeadline
func wbxEpochDeadline(h C.uintptr_t, delta *C.uint64_t) *C.char {
	d, err := cgo.Handle(h).Value().(DeadlineFunc)()
	if err != nil {
		return C.CString(err.Error())
	}
	*delta = C.uint64_t(d)
	return nil
}

//export wbxEpochFinalize
func wbxEpochFinalize(h C.uintptr_t) { cgo.Handle(h).Delete() }

// SetEpochDeadlineCallback makes fn run whenever store reaches its epoch
// deadline (wasmtime_store_epoch_deadline_callback), instead of trapping.
func SetEpochDeadlineCallback(store *wasmtime.Store, fn DeadlineFunc) error {
	// wasmtime-go's Store begins with its *wasmtime_store_t; checked against
	// the store's context below, so a layout change fails instead of crashing.
	raw := *(**C.wasmtime_store_t)(unsafe.Pointer(store))
	h := cgo.NewHandle(fn)
	if raw == nil || C.wbx_set_epoch_callback(raw, (*C.wasmtime_context_t)(unsafe.Pointer(store.Context())), C.uintptr_t(h)) != 0 {
		h.Delete()
		return errors.New("wasmtime-go Store layout is not the one this package was written for (v39)")
	}
	return nil
}
