//go:build wasip1 && !wasmbpf_callback

package wasmbpf

import (
	"runtime"
	"unsafe"
)

//go:wasmimport wasm_bpf_ext wasm_bpf_buffer_poll_batch
//go:noescape
func wasmBPFBufferPollBatch(h uint64, fd int32, buf unsafe.Pointer, size, timeoutMs int32) int32

func (wasmHost) pollBatch(h uint64, fd int32, buf []byte, timeoutMs int32) int32 {
	r := wasmBPFBufferPollBatch(h, fd, ptr(buf), int32(len(buf)), timeoutMs)
	runtime.KeepAlive(buf)
	return r
}
