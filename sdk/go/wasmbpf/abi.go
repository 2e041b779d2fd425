package wasmbpf

import "unsafe"

// Commands of wasm_bpf_map_operate: the kernel's bpf_cmd numbers.
const (
	cmdLookup  = 1
	cmdUpdate  = 2
	cmdDelete  = 3
	cmdNextKey = 4
)

// hostABI is the runtime's side of the ABI. On wasip1 it is the imported
// functions; the package's unit tests run the same API over a fake. Byte
// string arguments (names) end with a NUL.
type hostABI interface {
	load(obj []byte) uint64
	close(h uint64) int32
	attach(h uint64, prog, target []byte) int32
	mapFD(h uint64, name []byte) int32
	// mapOperate passes pointers as they are: the host reads and writes
	// as many bytes as the map's key and value sizes say.
	mapOperate(fd, cmd int32, key, value, nextKey unsafe.Pointer, flags uint64) int32
}

// batchPoller is a host with wasm_bpf_ext.wasm_bpf_buffer_poll_batch:
// records are framed into buf (see parseBatch) and the call returns the
// bytes written, or a negated errno.
type batchPoller interface {
	pollBatch(h uint64, fd int32, buf []byte, timeoutMs int32) int32
}

// lastErrorer is a host with wasm_bpf_ext.wasm_bpf_last_error: the Linux
// errno of the guest's last failed call (0 if none failed) and the
// runtime's explanation of it.
type lastErrorer interface {
	lastError() (errno int32, msg string)
}

// callbackPoller is a host with the callback-wrapper poll: each record is
// copied into buf and handed to deliver, whose result < 0 stops the poll.
// It returns the records consumed, or a negated errno.
type callbackPoller interface {
	pollCallback(h uint64, fd int32, buf []byte, timeoutMs int32, deliver func(rec []byte) int32) int32
}

// cstring returns s as a NUL-terminated byte string for the host.
func cstring(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// ptr is the address of b's first byte, or nil for an empty slice.
func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}
