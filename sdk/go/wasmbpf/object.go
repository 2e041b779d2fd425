package wasmbpf

import (
	"fmt"
	"syscall"
	"unsafe"
)

// Object is a BPF object loaded into the kernel: its programs and maps
// live until Close, or until the guest ends.
type Object struct {
	host hostABI
	h    uint64 // 0 once closed
}

// LoadOption changes the object's bytes before they are loaded: libbpf
// takes the initial values of .rodata and .data from them, and open and
// load are a single host call, so this is the only time to set them.
type LoadOption func(elf []byte) error

// Var is a global variable of a BPF object, in .rodata or .data, with a
// Go type of the same size as its C type. `wasm-bpf gen go` writes one
// per variable.
type Var[T any] struct {
	Name    string // the C name
	Section string // ".rodata" or ".data"
	Offset  int    // of its initial value in the object file
	// ObjectSize, when not 0, is the size of the object file Offset is
	// in: a Set on another object (rebuilt since gen go ran) fails
	// rather than write over whatever lies at Offset there.
	ObjectSize int
}

// Set returns a LoadOption that gives v the initial value value: a
// .rodata variable is then a constant the verifier sees.
func (v Var[T]) Set(value T) LoadOption {
	return func(elf []byte) error {
		size := int(unsafe.Sizeof(value))
		if v.ObjectSize != 0 && v.ObjectSize != len(elf) {
			return &Error{Op: "set variable", Name: v.Name, Err: fmt.Errorf("object of %d bytes, but the variable was generated from one of %d (run wasm-bpf gen go again): %w", len(elf), v.ObjectSize, syscall.EINVAL)}
		}
		if v.Offset < 0 || v.Offset > len(elf)-size {
			return &Error{Op: "set variable", Name: v.Name, Err: syscall.ERANGE}
		}
		copy(elf[v.Offset:], unsafe.Slice((*byte)(unsafe.Pointer(&value)), size))
		return nil
	}
}

// Load loads a BPF ELF object (as clang -target bpf -g writes it) into the
// kernel: every program and map is created, CO-RE relocations are applied
// by the runtime's libbpf. Options apply to a copy of obj.
//
// A failed load's error carries the runtime's explanation (the cause and
// its fix, as the runtime logs it) and wraps the errno of the cause; on a
// runtime without wasm_bpf_ext (-tags wasmbpf_callback) it wraps EINVAL.
func Load(obj []byte, opts ...LoadOption) (*Object, error) {
	return load(defaultHost(), obj, opts)
}

func load(host hostABI, obj []byte, opts []LoadOption) (*Object, error) {
	if len(opts) > 0 {
		obj = append([]byte(nil), obj...)
		for _, o := range opts {
			if err := o(obj); err != nil {
				return nil, err
			}
		}
	}
	h := host.load(obj)
	if h == 0 {
		return nil, loadError(host)
	}
	return &Object{host: host, h: h}, nil
}

// Close removes the object's links, programs and maps from the kernel
// (unless pinned). Maps and readers of the object stop working. Closing
// twice is harmless.
func (o *Object) Close() error {
	if o.h == 0 {
		return nil
	}
	h := o.h
	o.h = 0
	if r := o.host.close(h); r < 0 {
		return hostError(o.host, "close", "", r)
	}
	return nil
}

// Attach attaches program prog (its C function name). With target "" it
// is attached as its ELF section says (tracepoints, kprobes, fentry, LSM,
// ...); socket and XDP programs take a network interface name, cgroup
// and sockops programs a cgroup v2 directory. A program may be attached
// more than once; links last until Close.
func (o *Object) Attach(prog, target string) error {
	if o.h == 0 {
		return &Error{Op: "attach", Name: prog, Err: syscall.EBADF}
	}
	var t []byte
	if target != "" {
		t = cstring(target)
	}
	if r := o.host.attach(o.h, cstring(prog), t); r < 0 {
		return hostError(o.host, "attach", prog, r)
	}
	return nil
}

// mapFD finds the fd of a map by libbpf's name for it (".rodata",
// ".bss" and ".data" name the global sections).
func (o *Object) mapFD(op, name string) (int32, error) {
	if o.h == 0 {
		return -1, &Error{Op: op, Name: name, Err: syscall.EBADF}
	}
	fd := o.host.mapFD(o.h, cstring(name))
	if fd < 0 {
		return -1, hostError(o.host, op, name, fd)
	}
	return fd, nil
}
