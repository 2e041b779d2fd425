package host

import (
	"bytes"
	"debug/elf"
	"fmt"
	"strings"
	"syscall"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/host/internal/cabi"
	"github.com/wasm-bpf/wasm-bpf/host/internal/diagnose"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// A guest learns why its last call failed from
// wasm_bpf_ext.wasm_bpf_last_error (docs/abi.md); the embedder reads the
// same line in its log. Failures of wasm_bpf_map_operate, served in C
// entirely, are recorded by host/internal/cabi; the others here (the
// polls, also served in C, report theirs: pollHost). Either way, only a
// failure writes the record: a call that succeeds leaves it as it was, as
// errno.

// lastError is the cause of the guest's last failure that the Go side
// recorded.
type lastError struct {
	errno syscall.Errno
	msg   string
	// warned is the last message logged at warn level: a guest that fails
	// the same way in a loop is told once at warn, then at debug.
	warned string
}

// note records the cause of a failed call and returns -errno.
func (g *guest) note(errno syscall.Errno, msg string) int32 {
	g.last.errno, g.last.msg = errno, msg
	g.maptab.NoteFailure()
	return -int32(errno)
}

// fail reports a failure that stops the guest's load, attach or read of
// a buffer: one line at warn level, naming the cause and the fix, and the
// same line for wasm_bpf_last_error. It returns -errno.
func (g *guest) fail(errno syscall.Errno, msg string) int32 {
	if msg == g.last.warned {
		g.log.Debug(msg)
	} else {
		g.log.Warn(msg)
		g.last.warned = msg
	}
	return g.note(errno, msg)
}

// failErr is fail for an error: its errno (EINVAL if it has none) and
// its message.
func (g *guest) failErr(err error) int32 {
	return g.fail(errnoFrom(err), err.Error())
}

// errnoFrom is the errno an error carries, or EINVAL.
func errnoFrom(err error) syscall.Errno {
	return syscall.Errno(-errnoOf(err))
}

// explained is a failure with its one-line explanation (package
// diagnose) as its message.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// explainLoad explains a failed open (obj nil) or load of the object elf.
func (g *guest) explainLoad(elf []byte, obj *libbpf.Object, err error) error {
	o := diagnose.Object{Name: g.name, BTF: hasBTF(elf), KernelBTF: g.cfg.BTFPath}
	if obj != nil {
		for _, p := range obj.Programs() {
			o.Programs = append(o.Programs, diagnose.Program{Name: p.Name(), Section: p.Section(), Type: p.Type()})
		}
	}
	return &explained{diagnose.Load(diagnose.Host(), o, err), err}
}

// explainAttach explains a failed attach of p to target.
func explainAttach(p *libbpf.Program, target string, err error) error {
	prog := diagnose.Program{Name: p.Name(), Section: p.Section(), Type: p.Type()}
	return &explained{diagnose.Attach(diagnose.Host(), prog, target, err), err}
}

// explainBuffer explains why the consumer of map m could not be created.
func explainBuffer(m *mapRef, err error) error {
	kind := "ring buffer"
	if m.typ == libbpf.MapTypePerfEventArray {
		kind = "perf buffer"
	}
	return &explained{diagnose.Buffer(diagnose.Host(), m.name, kind, err), err}
}

func hasBTF(obj []byte) bool {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return false
	}
	return f.Section(".BTF") != nil
}

// lastError is wasm_bpf_ext.wasm_bpf_last_error(buf, size) -> errno: the
// Linux errno of the guest's last failed call (0 if none failed yet), its
// explanation written to buf as a NUL-terminated string cut to size-1
// bytes. -EINVAL for a negative size, -EFAULT for a buf outside memory;
// the record is left as it was.
func (g *guest) lastError(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	const fn = "wasm_bpf_last_error"
	ptr, size := uint32(args[0].I32()), args[1].I32()
	if size < 0 {
		g.log.Debug(fn+": negative size", "size", size)
		return retI32(-int32(syscall.EINVAL))
	}
	errno, msg := g.last.errno, g.last.msg
	if f, ok := g.maptab.LastFailure(); ok {
		errno, msg = f.Errno, g.describe(f)
	}
	if size == 0 {
		return retI32(int32(errno))
	}
	buf, ok := g.memory(c).Slice(ptr, uint32(size))
	if !ok {
		g.log.Debug(fn+": buffer outside guest memory", "ptr", ptr, "size", size)
		return retI32(-int32(syscall.EFAULT))
	}
	n := copy(buf[:len(buf)-1], msg)
	buf[n] = 0
	return retI32(int32(errno))
}

// describe words a failure of wasm_bpf_map_operate, which C records.
func (g *guest) describe(f cabi.Failure) string {
	const fn = "wasm_bpf_map_operate"
	op := mapCommands[f.Cmd] + " in " + g.fdName(f.FD)
	if mapCommands[f.Cmd] == "" {
		op = fmt.Sprintf("command %d on %s", f.Cmd, g.fdName(f.FD))
	}
	if f.Why != "" {
		return fmt.Sprintf("%s: %s: %s (%s)", fn, op, f.Why, f.Errno)
	}
	return fmt.Sprintf("%s: %s: %s", fn, op, f.Errno)
}

// fdName names fd for a message: the guest's map, or the number.
func (g *guest) fdName(fd int32) string {
	if m := g.mapRef(fd); m != nil {
		return fmt.Sprintf("map %q (fd %d)", m.name, fd)
	}
	return fmt.Sprintf("fd %d", fd)
}

var mapCommands = map[int32]string{1: "lookup", 2: "update", 3: "delete", 4: "get-next-key"}

// refusal words a refused call for the guest: the function, why, and
// the arguments that tell which call it was.
func refusal(fn, why string, errno syscall.Errno, args []any) string {
	var b strings.Builder
	b.WriteString(fn + ": " + why)
	for i := 0; i+1 < len(args); i += 2 {
		fmt.Fprintf(&b, " %v=%v", args[i], args[i+1])
	}
	b.WriteString(" (" + errno.Error() + ")")
	return b.String()
}
