package libbpf

// #include <malloc.h>
// #include <stdlib.h>
// #include <bpf/libbpf.h>
// #include <bpf/bpf.h>
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"unsafe"

	"github.com/wasm-bpf/wasm-bpf/internal/objcheck"
)

// Object is a BPF ELF object opened and loaded into the kernel.
type Object struct {
	obj  *C.struct_bpf_object
	elf  unsafe.Pointer // C copy of the ELF bytes, which libbpf reads until close
	name string
}

// OpenOptions are how Open opens an object.
type OpenOptions struct {
	// BTFPath is a file holding the kernel's BTF, for kernels that do not
	// expose it at /sys/kernel/btf/vmlinux (libbpf's btf_custom_path):
	// CO-RE relocations are made against it. "": the running kernel's.
	BTFPath string
	// Checked says buf has already passed objcheck.Check, as every object
	// policy.Analyze accepted has: Open then does not read it a second
	// time (a check costs about 2 ms and 0.75 MB of garbage per load of
	// the bootstrap example). buf must not have changed since.
	Checked bool
}

// Open opens the ELF BPF object in buf under the given name, without
// loading it. The object keeps its own copy of buf.
func Open(name string, buf []byte, o OpenOptions) (*Object, error) {
	if len(buf) == 0 {
		return nil, fmt.Errorf("open %q: empty object: %w", name, syscall.EINVAL)
	}
	// libbpf parses hostile objects badly (endless loops, crashes): each
	// is read in Go first.
	if !o.Checked {
		if err := objcheck.Check(buf); err != nil {
			return nil, fmt.Errorf("open %q: %w (%w)", name, err, syscall.EINVAL)
		}
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var opts C.struct_bpf_object_open_opts
	opts.sz = C.size_t(unsafe.Sizeof(opts))
	opts.object_name = cname
	if o.BTFPath != "" {
		btf := C.CString(o.BTFPath) // libbpf keeps a copy
		defer C.free(unsafe.Pointer(btf))
		opts.btf_custom_path = btf
	}
	// libbpf keeps pointers into the buffer it is given, so it gets C memory.
	elf := C.CBytes(buf)
	var obj *C.struct_bpf_object
	var err error
	log := withLog(func() { obj, err = C.bpf_object__open_mem(elf, C.size_t(len(buf)), &opts) })
	if obj == nil {
		C.free(elf)
		return nil, &Error{Op: fmt.Sprintf("open %q", name), Err: errnoOr(err, syscall.EINVAL), Log: log}
	}
	return &Object{obj: obj, elf: elf, name: name}, nil
}

// NoPinning makes libbpf ignore the maps' pinning attributes: no map is
// then reused from, or pinned to, bpffs (a pinned map would outlive the
// object, and reusing one would hand over another program's map).
func (o *Object) NoPinning() error {
	for m := C.bpf_object__next_map(o.obj, nil); m != nil; m = C.bpf_object__next_map(o.obj, m) {
		if rc := C.bpf_map__set_pin_path(m, nil); rc != 0 {
			return fmt.Errorf("map %q: unset pin path: %w", C.GoString(C.bpf_map__name(m)), syscall.Errno(-rc))
		}
	}
	return nil
}

// mmapLargeAllocs makes glibc give every allocation of 1 MiB or more its
// own mapping, returned to the kernel when freed. A load parses the
// kernel's BTF into two copies of several megabytes and frees them: from
// glibc's arenas, which grow a threshold past such blocks by default and
// keep what is freed, each guest's load left megabytes behind (malloc_trim
// after each load returns them too, but holds every arena's lock for up
// to hundreds of milliseconds while other guests load).
var mmapLargeAllocs sync.Once

// Load creates the object's maps and loads its programs, applying CO-RE
// relocations against the running kernel's BTF.
// A failure is an *Error carrying libbpf's messages, the verifier's log
// among them.
func (o *Object) Load() error {
	mmapLargeAllocs.Do(func() { C.mallopt(C.M_MMAP_THRESHOLD, 1<<20) })
	var rc C.int
	var err error
	log := withLog(func() { rc, err = C.bpf_object__load(o.obj) })
	if rc != 0 {
		return &Error{Op: fmt.Sprintf("load %q", o.name), Err: errnoOr(err, syscall.Errno(-rc)), Log: log}
	}
	return nil
}

// Name is the object's name.
func (o *Object) Name() string { return o.name }

// Close unloads the object: its programs and maps leave the kernel unless
// something else (a pin, a link, another fd) still holds them.
func (o *Object) Close() {
	if o.obj != nil {
		C.bpf_object__close(o.obj)
		C.free(o.elf)
		o.obj, o.elf = nil, nil
	}
}

// FDs counts the file descriptors the loaded object holds: its maps', its
// programs' and its BTF's.
func (o *Object) FDs() int {
	n := 0
	if C.bpf_object__btf_fd(o.obj) >= 0 {
		n++
	}
	for m := C.bpf_object__next_map(o.obj, nil); m != nil; m = C.bpf_object__next_map(o.obj, m) {
		if C.bpf_map__fd(m) >= 0 {
			n++
		}
	}
	for p := C.bpf_object__next_program(o.obj, nil); p != nil; p = C.bpf_object__next_program(o.obj, p) {
		if C.bpf_program__fd(p) >= 0 {
			n++
		}
	}
	return n
}

// Program returns the program whose function is called name.
func (o *Object) Program(name string) (*Program, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	p := C.bpf_object__find_program_by_name(o.obj, cname)
	if p == nil {
		return nil, fmt.Errorf("program %q: %w", name, syscall.ENOENT)
	}
	return &Program{prog: p, name: name}, nil
}

// Programs returns every program of the object, in libbpf's order.
func (o *Object) Programs() []*Program {
	var progs []*Program
	for p := C.bpf_object__next_program(o.obj, nil); p != nil; p = C.bpf_object__next_program(o.obj, p) {
		progs = append(progs, &Program{prog: p, name: C.GoString(C.bpf_program__name(p))})
	}
	return progs
}

// Maps returns every map of the object.
func (o *Object) Maps() []*Map {
	var maps []*Map
	for m := C.bpf_object__next_map(o.obj, nil); m != nil; m = C.bpf_object__next_map(o.obj, m) {
		maps = append(maps, &Map{m: m})
	}
	return maps
}

// Map returns the map called name.
func (o *Object) Map(name string) (*Map, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	m := C.bpf_object__find_map_by_name(o.obj, cname)
	if m == nil {
		return nil, fmt.Errorf("map %q: %w", name, syscall.ENOENT)
	}
	return &Map{m: m}, nil
}

// Program is one BPF program of an [Object].
type Program struct {
	prog *C.struct_bpf_program
	name string
}

// Name is the program's function name.
func (p *Program) Name() string { return p.name }

// Section is the ELF section the program came from, such as "tp/sched/x".
func (p *Program) Section() string { return C.GoString(C.bpf_program__section_name(p.prog)) }

// Type is the program's kernel type (enum bpf_prog_type).
func (p *Program) Type() ProgType { return ProgType(C.bpf_program__type(p.prog)) }

// FD is the loaded program's file descriptor.
func (p *Program) FD() int { return int(C.bpf_program__fd(p.prog)) }

// ProgType is the kernel's enum bpf_prog_type.
type ProgType uint32

// Program types that attach to a target rather than by their section.
const (
	ProgTypeSocketFilter   ProgType = C.BPF_PROG_TYPE_SOCKET_FILTER
	ProgTypeXDP            ProgType = C.BPF_PROG_TYPE_XDP
	ProgTypeCgroupSKB      ProgType = C.BPF_PROG_TYPE_CGROUP_SKB
	ProgTypeCgroupSock     ProgType = C.BPF_PROG_TYPE_CGROUP_SOCK
	ProgTypeCgroupSockAddr ProgType = C.BPF_PROG_TYPE_CGROUP_SOCK_ADDR
	ProgTypeCgroupDevice   ProgType = C.BPF_PROG_TYPE_CGROUP_DEVICE
	ProgTypeCgroupSysctl   ProgType = C.BPF_PROG_TYPE_CGROUP_SYSCTL
	ProgTypeCgroupSockopt  ProgType = C.BPF_PROG_TYPE_CGROUP_SOCKOPT
	ProgTypeSockOps        ProgType = C.BPF_PROG_TYPE_SOCK_OPS
)

// String is libbpf's name for the type ("xdp", "socket_filter", ...).
func (t ProgType) String() string {
	if s := C.libbpf_bpf_prog_type_str(C.enum_bpf_prog_type(t)); s != nil {
		return C.GoString(s)
	}
	return fmt.Sprintf("prog_type(%d)", uint32(t))
}

// IsCgroup reports whether programs of this type attach to a cgroup.
func (t ProgType) IsCgroup() bool {
	switch t {
	case ProgTypeCgroupSKB, ProgTypeCgroupSock, ProgTypeCgroupSockAddr, ProgTypeCgroupDevice,
		ProgTypeCgroupSysctl, ProgTypeCgroupSockopt, ProgTypeSockOps:
		return true
	}
	return false
}

// errnoOr returns the errno cgo captured, or fallback when the C call left
// errno unset.
func errnoOr(err error, fallback syscall.Errno) error {
	var errno syscall.Errno
	if errors.As(err, &errno) && errno != 0 {
		return errno
	}
	if fallback < 0 {
		fallback = -fallback
	}
	if fallback == 0 {
		fallback = syscall.EINVAL
	}
	return fallback
}

// Version is the version of the libbpf the program runs with.
func Version() string {
	return fmt.Sprintf("%d.%d", C.libbpf_major_version(), C.libbpf_minor_version())
}
