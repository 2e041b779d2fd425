//go:build wasip1 && wasmbpf_callback

package wasmbpf

import (
	"runtime"
	"unsafe"
)

//go:wasmimport callback-wrapper wasm_bpf_buffer_poll
//go:noescape
func wasmBPFBufferPoll(h uint64, fd int32, ctx int32, data unsafe.Pointer, maxSize, timeoutMs int32) int32

// polls holds the polls in progress, by the ctx the host hands back to
// goCallback. It is package state because the export is a package-level
// function; a poll of another buffer may start inside a callback, so
// there can be several.
var polls = map[int32]*activePoll{}

type activePoll struct {
	buf     []byte
	deliver func([]byte) int32
}

func (wasmHost) pollCallback(h uint64, fd int32, buf []byte, timeoutMs int32, deliver func([]byte) int32) int32 {
	ctx := int32(1)
	for polls[ctx] != nil {
		ctx++
	}
	polls[ctx] = &activePoll{buf: buf, deliver: deliver}
	defer delete(polls, ctx)
	r := wasmBPFBufferPoll(h, fd, ctx, ptr(buf), int32(len(buf)), timeoutMs)
	runtime.KeepAlive(buf)
	return r
}

// goCallback is called by the host's callback-wrapper poll once per
// record, with the record copied to data, which is the poll's buffer.
//
//go:wasmexport go-callback
func goCallback(ctx int32, data unsafe.Pointer, size int32) int32 {
	p := polls[ctx]
	if p == nil || size < 0 || size > int32(len(p.buf)) || data != ptr(p.buf) {
		return -22 // EINVAL: not a poll of ours
	}
	return p.deliver(p.buf[:size])
}
