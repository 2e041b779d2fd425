//go:build wasip1

package wasmbpf

import (
	"runtime"
	"unsafe"
)

//go:wasmimport wasm_bpf wasm_load_bpf_object
//go:noescape
func wasmLoadBPFObject(obj unsafe.Pointer, size int32) uint64

//go:wasmimport wasm_bpf wasm_close_bpf_object
func wasmCloseBPFObject(h uint64) int32

//go:wasmimport wasm_bpf wasm_attach_bpf_program
//go:noescape
func wasmAttachBPFProgram(h uint64, name, target unsafe.Pointer) int32

//go:wasmimport wasm_bpf wasm_bpf_map_fd_by_name
//go:noescape
func wasmBPFMapFDByName(h uint64, name unsafe.Pointer) int32

//go:wasmimport wasm_bpf wasm_bpf_map_operate
//go:noescape
func wasmBPFMapOperate(fd, cmd int32, key, value, nextKey unsafe.Pointer, flags uint64) int32

// wasmHost calls the imported functions; it has no state.
type wasmHost struct{}

func defaultHost() hostABI { return wasmHost{} }

func (wasmHost) load(obj []byte) uint64 {
	h := wasmLoadBPFObject(ptr(obj), int32(len(obj)))
	runtime.KeepAlive(obj)
	return h
}

func (wasmHost) close(h uint64) int32 { return wasmCloseBPFObject(h) }

func (wasmHost) attach(h uint64, prog, target []byte) int32 {
	r := wasmAttachBPFProgram(h, ptr(prog), ptr(target))
	runtime.KeepAlive(prog)
	runtime.KeepAlive(target)
	return r
}

func (wasmHost) mapFD(h uint64, name []byte) int32 {
	r := wasmBPFMapFDByName(h, ptr(name))
	runtime.KeepAlive(name)
	return r
}

func (wasmHost) mapOperate(fd, cmd int32, key, value, nextKey unsafe.Pointer, flags uint64) int32 {
	return wasmBPFMapOperate(fd, cmd, key, value, nextKey, flags)
}

// mapOperate calls the import directly, not through hostABI: pointers
// passed through an interface escape to the heap, and a map call would
// then allocate its key and value every time.
func mapOperate(_ *Object, fd, cmd int32, key, value, nextKey unsafe.Pointer, flags uint64) int32 {
	return wasmBPFMapOperate(fd, cmd, key, value, nextKey, flags)
}
