package wasmbpf

import (
	"errors"
	"iter"
	"syscall"
	"unsafe"
)

// UpdateFlags are the flags of Update, as the kernel's BPF_ANY, ...
type UpdateFlags uint64

const (
	UpdateAny     UpdateFlags = 0 // create or replace
	UpdateNoExist UpdateFlags = 1 // create only
	UpdateExist   UpdateFlags = 2 // replace only
	UpdateLock    UpdateFlags = 4 // BPF_F_LOCK
)

// Map is a map of a loaded object, operated on with byte slices.
//
// The runtime reads and writes as many bytes as the map's key and value
// sizes say, and the guest cannot ask it what they are: every slice must
// be at least that long (for per-CPU maps a value is
// round_up(value_size, 8) bytes per possible CPU). MapOf checks nothing
// either but gets the sizes from Go types, which `wasm-bpf gen go`
// writes from the object's BTF.
type Map struct {
	obj  *Object
	name string
	fd   int32
}

// Map returns the map called name in the BPF source; ".rodata", ".data"
// and ".bss" are the maps of the global variables.
func (o *Object) Map(name string) (*Map, error) {
	fd, err := o.mapFD("map", name)
	if err != nil {
		return nil, err
	}
	return &Map{obj: o, name: name, fd: fd}, nil
}

// Name is the map's name as given to Object.Map.
func (m *Map) Name() string { return m.name }

func (m *Map) operate(op string, cmd int32, key, value, next unsafe.Pointer, flags uint64) error {
	if m.obj.h == 0 {
		return &Error{Op: op, Name: m.name, Err: syscall.EBADF}
	}
	if r := mapOperate(m.obj, m.fd, cmd, key, value, next, flags); r < 0 {
		return hostError(m.obj.host, op, m.name, r)
	}
	return nil
}

// Lookup copies the value of key into value. A missing key is ENOENT.
func (m *Map) Lookup(key, value []byte) error {
	return m.operate("map lookup", cmdLookup, ptr(key), ptr(value), nil, 0)
}

// Update sets the value of key.
func (m *Map) Update(key, value []byte, flags UpdateFlags) error {
	return m.operate("map update", cmdUpdate, ptr(key), ptr(value), nil, uint64(flags))
}

// Delete removes key. A missing key is ENOENT.
func (m *Map) Delete(key []byte) error {
	return m.operate("map delete", cmdDelete, ptr(key), nil, nil, 0)
}

// NextKey writes the key after key into next, or the first key when key
// is nil. After the last key it returns an error wrapping ENOENT.
func (m *Map) NextKey(key, next []byte) error {
	return m.operate("map next key", cmdNextKey, ptr(key), nil, ptr(next), 0)
}

// TypedMap is a Map whose keys and values are the fixed-size Go types K
// and V: types without pointers, strings, slices or maps, of the sizes of
// the map's key and value (`wasm-bpf gen go` writes such types).
type TypedMap[K, V any] struct {
	m   *Map
	err error
}

// MapOf returns m with key type K and value type V.
func MapOf[K, V any](m *Map) *TypedMap[K, V] {
	return &TypedMap[K, V]{m: m}
}

// Map is the underlying Map.
func (t *TypedMap[K, V]) Map() *Map { return t.m }

// Lookup returns the value of key. A missing key is ENOENT.
func (t *TypedMap[K, V]) Lookup(key K) (V, error) {
	var v V
	err := t.LookupInto(&key, &v)
	return v, err
}

// LookupInto copies the value of *key into *value.
func (t *TypedMap[K, V]) LookupInto(key *K, value *V) error {
	return t.m.operate("map lookup", cmdLookup, unsafe.Pointer(key), unsafe.Pointer(value), nil, 0)
}

// Update sets the value of key.
func (t *TypedMap[K, V]) Update(key K, value V, flags UpdateFlags) error {
	return t.m.operate("map update", cmdUpdate, unsafe.Pointer(&key), unsafe.Pointer(&value), nil, uint64(flags))
}

// Delete removes key. A missing key is ENOENT.
func (t *TypedMap[K, V]) Delete(key K) error {
	return t.m.operate("map delete", cmdDelete, unsafe.Pointer(&key), nil, nil, 0)
}

// All iterates over the map's keys and values, as the kernel's
// get-next-key orders them:
//
//	for k, v := range m.All() { ... }
//	if err := m.Err(); err != nil { ... }
//
// A key deleted between two steps is skipped; the kernel may then restart
// from the first key of a hash map, so a loop that deletes as it goes can
// see a key twice. Err reports what ended the last iteration early.
func (t *TypedMap[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		t.err = nil
		var cur, next K
		var v V
		first := true
		for {
			var kp unsafe.Pointer
			if !first {
				kp = unsafe.Pointer(&cur)
			}
			err := t.m.operate("map next key", cmdNextKey, kp, nil, unsafe.Pointer(&next), 0)
			if errors.Is(err, syscall.ENOENT) {
				return
			}
			if err != nil {
				t.err = err
				return
			}
			first = false
			cur = next
			err = t.m.operate("map lookup", cmdLookup, unsafe.Pointer(&cur), unsafe.Pointer(&v), nil, 0)
			if errors.Is(err, syscall.ENOENT) {
				continue // deleted since get-next-key returned it
			}
			if err != nil {
				t.err = err
				return
			}
			if !yield(cur, v) {
				return
			}
		}
	}
}

// Err is the error that ended the last All loop early, or nil.
func (t *TypedMap[K, V]) Err() error { return t.err }
