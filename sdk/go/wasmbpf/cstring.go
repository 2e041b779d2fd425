package wasmbpf

import "bytes"

// CString returns the C string in a char array of a record, such as a
// task's comm: the bytes of b up to its first NUL (all of b if it has
// none), as a string.
func CString(b []byte) string { return string(CBytes(b)) }

// CBytes is CString without the copy: the bytes of b up to its first NUL,
// sharing b's memory. Appending them to an output buffer, or printing
// them with fmt's %s, allocates nothing.
func CBytes(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
