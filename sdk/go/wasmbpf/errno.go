package wasmbpf

import (
	"fmt"
	"syscall"
)

// linuxErrnos maps the Linux errno numbers the host returns (negated) to
// this platform's syscall.Errno. On wasip1 the numbering is WASI's
// (ENOENT is 44, not 2), so a Linux number cannot be used as an Errno
// directly. The list is the one sdk/c/libbpf-wasm.h converts for C.
var linuxErrnos = [...]struct {
	linux int32
	errno syscall.Errno
}{
	{1, syscall.EPERM},
	{2, syscall.ENOENT},
	{3, syscall.ESRCH},
	{4, syscall.EINTR},
	{5, syscall.EIO},
	{6, syscall.ENXIO},
	{7, syscall.E2BIG},
	{8, syscall.ENOEXEC},
	{9, syscall.EBADF},
	{11, syscall.EAGAIN},
	{12, syscall.ENOMEM},
	{13, syscall.EACCES},
	{14, syscall.EFAULT},
	{16, syscall.EBUSY},
	{17, syscall.EEXIST},
	{19, syscall.ENODEV},
	{20, syscall.ENOTDIR},
	{22, syscall.EINVAL},
	{24, syscall.EMFILE},
	{28, syscall.ENOSPC},
	{34, syscall.ERANGE},
	{38, syscall.ENOSYS},
	{40, syscall.ELOOP},
	{71, syscall.EPROTO},
	{75, syscall.EOVERFLOW},
	{95, syscall.EOPNOTSUPP},
	{110, syscall.ETIMEDOUT},
	{524, syscall.ENOTSUP}, // the kernel's internal ENOTSUPP
}

// errnoFromLinux converts a Linux errno number to this platform's
// syscall.Errno; numbers the guest has no name for become EIO.
func errnoFromLinux(n int32) syscall.Errno {
	// A linear scan: the table is short and the call is on error paths.
	for _, e := range linuxErrnos {
		if e.linux == n {
			return e.errno
		}
	}
	return syscall.EIO
}

// hostError converts a host result < 0 (a negated Linux errno) to an
// error naming the operation and the object it was applied to, with the
// runtime's explanation when it gives one.
func hostError(host hostABI, op, what string, ret int32) error {
	e := &Error{Op: op, Name: what, Err: errnoFromLinux(-ret)}
	// A missing key and the end of an iteration explain themselves, and
	// come often: they cost no second host call.
	if ret == -2 && (op == "map lookup" || op == "map delete" || op == "map next key") {
		return e
	}
	if le, ok := host.(lastErrorer); ok {
		if errno, msg := le.lastError(); errno == -ret {
			e.Msg = msg
		}
	}
	return e
}

// loadError is the error of a load, which returns no errno: the runtime
// tells it through wasm_bpf_last_error, or it is EINVAL.
func loadError(host hostABI) error {
	e := &Error{Op: "load", Err: syscall.EINVAL}
	if le, ok := host.(lastErrorer); ok {
		if errno, msg := le.lastError(); errno > 0 {
			e.Err, e.Msg = errnoFromLinux(errno), msg
		}
	}
	return e
}

// Error is the error of a failed host call.
type Error struct {
	Op   string // the operation: "load", "attach", "map lookup", ...
	Name string // the program, map or buffer, when there is one
	Err  error  // a syscall.Errno
	// Msg is the runtime's explanation (wasm_bpf_ext.wasm_bpf_last_error):
	// the cause and its fix, as in the runtime's log, or "".
	Msg string
}

func (e *Error) Error() string {
	what := e.Op
	if e.Name != "" {
		what += " " + e.Name
	}
	if e.Msg != "" {
		return fmt.Sprintf("wasmbpf: %s: %s", what, e.Msg)
	}
	return fmt.Sprintf("wasmbpf: %s: %v", what, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
