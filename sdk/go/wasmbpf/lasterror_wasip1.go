//go:build wasip1 && !wasmbpf_callback

package wasmbpf

import (
	"runtime"
	"unsafe"
)

//go:wasmimport wasm_bpf_ext wasm_bpf_last_error
//go:noescape
func wasmBPFLastError(buf unsafe.Pointer, size int32) int32

func (wasmHost) lastError() (int32, string) {
	buf := make([]byte, 4096)
	errno := wasmBPFLastError(ptr(buf), int32(len(buf)))
	runtime.KeepAlive(buf)
	if errno <= 0 {
		return errno, ""
	}
	return errno, CString(buf)
}
