//go:build !wasip1

package wasmbpf

import "unsafe"

// enosys is the Linux ENOSYS, negated, as the host would return it.
const enosys = -38

// noHost fails every call: outside wasip1 there is no wasm-bpf runtime.
type noHost struct{}

func defaultHost() hostABI { return noHost{} }

func (noHost) load([]byte) uint64                  { return 0 }
func (noHost) close(uint64) int32                  { return 0 }
func (noHost) attach(uint64, []byte, []byte) int32 { return enosys }
func (noHost) mapFD(uint64, []byte) int32          { return enosys }
func (noHost) mapOperate(int32, int32, unsafe.Pointer, unsafe.Pointer, unsafe.Pointer, uint64) int32 {
	return enosys
}
func (noHost) pollBatch(uint64, int32, []byte, int32) int32 { return enosys }

// mapOperate is the host's: outside wasip1 the package runs over a fake in
// its tests (on wasip1 it calls the import directly).
func mapOperate(o *Object, fd, cmd int32, key, value, nextKey unsafe.Pointer, flags uint64) int32 {
	return o.host.mapOperate(fd, cmd, key, value, nextKey, flags)
}
