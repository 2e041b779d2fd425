package libbpf

// #include <stdlib.h>
// #include <bpf/libbpf.h>
// #include <bpf/bpf.h>
import "C"

import (
	"fmt"
	"syscall"
	"unsafe"
)

// Map is one map of an [Object].
type Map struct {
	m *C.struct_bpf_map
}

// Name is the map's name in the object.
func (m *Map) Name() string { return C.GoString(C.bpf_map__name(m.m)) }

// FD is the map's file descriptor, or a negative value if it was not created.
func (m *Map) FD() int { return int(C.bpf_map__fd(m.m)) }

// Type is the map's kernel type (enum bpf_map_type).
func (m *Map) Type() MapType { return MapType(C.bpf_map__type(m.m)) }

// KeySize is the size of a key in bytes.
func (m *Map) KeySize() uint32 { return uint32(C.bpf_map__key_size(m.m)) }

// ValueSize is the number of bytes a lookup writes: for per-CPU maps, the
// value rounded up to 8 bytes, once per possible CPU, as the kernel does.
func (m *Map) ValueSize() (uint32, error) {
	size := uint32(C.bpf_map__value_size(m.m))
	if !m.Type().PerCPU() {
		return size, nil
	}
	ncpu, err := PossibleCPUs()
	if err != nil {
		return 0, err
	}
	return (size + 7) &^ 7 * uint32(ncpu), nil
}

// PossibleCPUs is the number of possible CPUs (libbpf_num_possible_cpus).
func PossibleCPUs() (int, error) {
	n := C.libbpf_num_possible_cpus()
	if n < 0 {
		return 0, syscall.Errno(-n)
	}
	return int(n), nil
}

// MapType is the kernel's enum bpf_map_type.
type MapType uint32

// Map types the runtime treats specially.
const (
	MapTypeHash           MapType = C.BPF_MAP_TYPE_HASH
	MapTypeArray          MapType = C.BPF_MAP_TYPE_ARRAY
	MapTypePerfEventArray MapType = C.BPF_MAP_TYPE_PERF_EVENT_ARRAY
	MapTypeRingBuf        MapType = C.BPF_MAP_TYPE_RINGBUF
)

// String is libbpf's name for the type ("hash", "ringbuf", ...).
func (t MapType) String() string {
	if s := C.libbpf_bpf_map_type_str(C.enum_bpf_map_type(t)); s != nil {
		return C.GoString(s)
	}
	return fmt.Sprintf("map_type(%d)", uint32(t))
}

// PerCPU reports whether lookups return one value per possible CPU.
func (t MapType) PerCPU() bool {
	switch t {
	case C.BPF_MAP_TYPE_PERCPU_HASH, C.BPF_MAP_TYPE_PERCPU_ARRAY,
		C.BPF_MAP_TYPE_LRU_PERCPU_HASH, C.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
		return true
	}
	return false
}

// The map operations below take raw pointers so callers can hand the
// kernel memory that Go does not manage without copying; a nil key means
// "no key" where the kernel allows it. They return the kernel's errno, and
// check nothing: a guest's map calls never come here but to
// host/internal/cabi, which refuses fds carried in values and keys.

// MapLookup is bpf_map_lookup_elem_flags.
func MapLookup(fd int, key, value unsafe.Pointer, flags uint64) error {
	return errnoFrom(C.bpf_map_lookup_elem_flags(C.int(fd), key, value, C.__u64(flags)))
}

// MapUpdate is bpf_map_update_elem.
func MapUpdate(fd int, key, value unsafe.Pointer, flags uint64) error {
	return errnoFrom(C.bpf_map_update_elem(C.int(fd), key, value, C.__u64(flags)))
}

// MapDelete is bpf_map_delete_elem_flags.
func MapDelete(fd int, key unsafe.Pointer, flags uint64) error {
	return errnoFrom(C.bpf_map_delete_elem_flags(C.int(fd), key, C.__u64(flags)))
}

// MapNextKey is bpf_map_get_next_key; a nil key asks for the first key.
func MapNextKey(fd int, key, next unsafe.Pointer) error {
	return errnoFrom(C.bpf_map_get_next_key(C.int(fd), key, next))
}

// errnoFrom turns libbpf's "negative errno" returns into an error; libbpf
// 1.x returns -errno from its bpf_* wrappers.
func errnoFrom(rc C.int) error {
	if rc >= 0 {
		return nil
	}
	return syscall.Errno(-rc)
}

// CreateMap is bpf_map_create: a map outside any object, for example a
// scratch ring buffer. The caller owns (and closes) the returned fd.
func CreateMap(typ MapType, name string, keySize, valueSize, maxEntries uint32) (int, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	fd := C.bpf_map_create(C.enum_bpf_map_type(typ), cname, C.__u32(keySize), C.__u32(valueSize), C.__u32(maxEntries), nil)
	if fd < 0 {
		return -1, fmt.Errorf("create %s map %q: %w", typ, name, syscall.Errno(-fd))
	}
	return int(fd), nil
}
