package wasmbpf

import "bytes"

// CString returns the bytes of b up to its first NUL (all of b if it has
// none): the C string in a char array of a record, such as a task's comm.
// Printing it with fmt's %s allocates nothing more.
func CString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
