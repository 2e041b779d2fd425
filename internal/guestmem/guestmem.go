// Package guestmem checks guest pointers: every address a guest passes to
// the host goes through Memory's methods before the host reads or writes.
package guestmem

// Memory is a guest's linear memory as the host sees it during one host
// call. Every guest pointer goes through these checks before the host reads
// or writes: wasm32 addresses and sizes are u32, so a range is valid only if
// it lies entirely inside the memory, with no overflow in ptr+size.
type Memory []byte

// Slice returns mem[ptr:ptr+size], or false if any byte of it is outside.
func (m Memory) Slice(ptr, size uint32) ([]byte, bool) {
	end := uint64(ptr) + uint64(size)
	if end > uint64(len(m)) {
		return nil, false
	}
	return m[ptr:end:end], true
}

// MaxString bounds the names the host reads (program, map, interface and
// cgroup names), so a guest cannot make it scan all of memory.
const MaxString = 4096

// CString returns the NUL-terminated string at ptr, or false if ptr is
// outside memory, or no NUL follows within MaxString bytes or before the
// end of memory.
func (m Memory) CString(ptr uint32) (string, bool) {
	if uint64(ptr) >= uint64(len(m)) {
		return "", false
	}
	rest := m[ptr:]
	if len(rest) > MaxString {
		rest = rest[:MaxString]
	}
	for i, c := range rest {
		if c == 0 {
			return string(rest[:i]), true
		}
	}
	return "", false
}
