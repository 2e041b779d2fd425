package libbpf

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// printer holds the logger behind libbpf's print hook. libbpf has exactly
// one print callback per process (libbpf_set_print), so this is the one
// piece of process-wide state the package keeps. The hook is installed
// before the package's first libbpf call: libbpf's default prints to the
// process's stderr, which belongs to the embedder, not to libbpf.
var printer struct {
	once   sync.Once
	logger atomic.Pointer[slog.Logger]
}

func installPrint() { printer.once.Do(func() { C.wb_install_print() }) }

// SetLogger sends libbpf's own messages (warnings, verifier logs of failed
// loads, CO-RE relocation details) to l at debug level, each message whole
// (a verifier log is one multi-line message). It replaces the previous
// logger for the whole process, as libbpf_set_print does; nil, the
// default, silences libbpf.
func SetLogger(l *slog.Logger) {
	printer.logger.Store(l)
	installPrint()
}

// Error is a libbpf call that failed, with the messages libbpf printed
// during it: its warnings and, when the kernel refused a program, the
// verifier's log. They are what explains the failure (see Log).
type Error struct {
	Op  string // the call and its object, such as `load "bootstrap"`
	Err error  // a syscall.Errno
	Log Log
}

func (e *Error) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Log is what libbpf warned about during one call, one message per
// element, in order, without the trailing newline; a verifier log is one
// message of many lines.
type Log []string

// VerifierLog returns the lines of the verifier's log of the first
// program the kernel refused, or nil.
func (l Log) VerifierLog() (prog string, lines []string) {
	const begin, end = "-- BEGIN PROG LOAD LOG --", "-- END PROG LOAD LOG --"
	for _, m := range l {
		head, body, ok := strings.Cut(m, begin)
		if !ok {
			continue
		}
		// "libbpf: prog 'name': -- BEGIN PROG LOAD LOG --"
		if _, p, ok := strings.Cut(head, "prog '"); ok {
			prog, _, _ = strings.Cut(p, "'")
		}
		body, _, _ = strings.Cut(body, end)
		for _, s := range strings.Split(strings.Trim(body, "\n"), "\n") {
			lines = append(lines, strings.TrimRight(s, " "))
		}
		return prog, lines
	}
	return "", nil
}

// Contains reports whether a message holds s.
func (l Log) Contains(s string) bool {
	for _, m := range l {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// maxCapture bounds what one call keeps of libbpf's log: a verifier log
// can reach 16 MiB, of which an explanation needs the end.
const maxCapture = 4 << 20

// capture is the log of the call in progress on one thread.
type capture struct {
	log  Log
	size int
}

// withLog runs call, one cgo call into libbpf, and returns what libbpf
// printed meanwhile. libbpf prints from the calling thread, so the capture
// is a thread-local of the C side (shim.c): messages of other guests'
// calls on other threads never mix in.
func withLog(call func()) Log {
	installPrint()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c := &capture{}
	h := cgo.NewHandle(c)
	defer h.Delete()
	C.wb_capture_set(C.uintptr_t(h))
	call()
	C.wb_capture_set(0)
	return c.log
}

//export wbGoPrint
func wbGoPrint(level C.int, msg *C.char, h C.uintptr_t) {
	text := strings.TrimRight(C.GoString(msg), "\n")
	// Warnings say what failed; libbpf's info and debug messages narrate.
	if h != 0 && level == C.LIBBPF_WARN {
		c := cgo.Handle(h).Value().(*capture)
		if c.size+len(text) > maxCapture {
			// Keep the end, where libbpf says what failed.
			for len(c.log) > 1 && c.size+len(text) > maxCapture {
				c.size -= len(c.log[0])
				c.log = c.log[1:]
			}
		}
		c.log = append(c.log, text)
		c.size += len(text)
	}
	l := printer.logger.Load()
	if l == nil || !l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	// libbpf's messages already start with "libbpf: ".
	l.Debug(correctMemlockHint(text))
}

// correctMemlockHint amends libbpf's advice to raise RLIMIT_MEMLOCK, which
// it gives with every EPERM (and when its own probes fail for want of
// privileges): since Linux 5.11 BPF memory is charged to the memory
// cgroup and RLIMIT_MEMLOCK plays no part.
func correctMemlockHint(msg string) string {
	if !strings.Contains(msg, "RLIMIT_MEMLOCK") && !strings.Contains(msg, "ulimit -l") {
		return msg
	}
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return msg
	}
	var rel []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		rel = append(rel, byte(c))
	}
	return memlockHint(msg, string(rel))
}

// memlockHint amends msg for a kernel of that release.
func memlockHint(msg, release string) string {
	var major, minor int
	if _, err := fmt.Sscanf(release, "%d.%d", &major, &minor); err != nil || major < 5 || major == 5 && minor < 11 {
		return msg
	}
	return msg + " [wasm-bpf: not the cause: Linux " + release +
		" charges BPF memory to the memory cgroup, not to RLIMIT_MEMLOCK; the kernel's answer was EPERM, operation not permitted]"
}
