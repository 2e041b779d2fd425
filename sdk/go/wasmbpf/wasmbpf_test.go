package wasmbpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// fakeHost is a runtime in memory: one object (handle 7) with hash maps
// of 4-byte keys and 8-byte values, and ring buffers whose batches are
// given by the test.
type fakeHost struct {
	loaded   []byte
	closed   bool
	attached []string
	maps     map[string]map[uint32]uint64 // by name; fd is the index in order
	order    []string
	batches  [][]byte // what the next polls return
	pollErr  int32
}

func newFakeHost() *fakeHost {
	return &fakeHost{maps: map[string]map[uint32]uint64{}}
}

func (f *fakeHost) addMap(name string, m map[uint32]uint64) {
	f.maps[name] = m
	f.order = append(f.order, name)
}

func (f *fakeHost) load(obj []byte) uint64 {
	if len(obj) == 0 || obj[0] != 0x7f {
		return 0
	}
	f.loaded = append([]byte(nil), obj...)
	return 7
}

func (f *fakeHost) close(h uint64) int32 { f.closed = true; return 0 }

func str(b []byte) string { return string(bytes.TrimSuffix(b, []byte{0})) }

func (f *fakeHost) attach(h uint64, prog, target []byte) int32 {
	if h != 7 {
		return -22
	}
	if str(prog) == "missing" {
		return -2
	}
	f.attached = append(f.attached, str(prog)+"@"+str(target))
	return 0
}

func (f *fakeHost) mapFD(h uint64, name []byte) int32 {
	if i := slices.Index(f.order, str(name)); i >= 0 {
		return int32(i + 3)
	}
	return -2
}

func (f *fakeHost) mapOperate(fd, cmd int32, key, value, next unsafe.Pointer, flags uint64) int32 {
	i := int(fd - 3)
	if i < 0 || i >= len(f.order) {
		return -9
	}
	m := f.maps[f.order[i]]
	var k uint32
	if key != nil {
		k = *(*uint32)(key)
	}
	switch cmd {
	case cmdLookup:
		v, ok := m[k]
		if !ok {
			return -2
		}
		*(*uint64)(value) = v
	case cmdUpdate:
		if flags == uint64(UpdateNoExist) {
			if _, ok := m[k]; ok {
				return -17
			}
		}
		m[k] = *(*uint64)(value)
	case cmdDelete:
		if _, ok := m[k]; !ok {
			return -2
		}
		delete(m, k)
	case cmdNextKey:
		keys := slices.Sorted(maps.Keys(m))
		j := 0
		if key != nil {
			j = slices.Index(keys, k) + 1 // a missing key restarts at 0
		}
		if j >= len(keys) {
			return -2
		}
		*(*uint32)(next) = keys[j]
	default:
		return -22
	}
	return 0
}

func (f *fakeHost) pollBatch(h uint64, fd int32, buf []byte, timeoutMs int32) int32 {
	if f.pollErr != 0 {
		return f.pollErr
	}
	if len(f.batches) == 0 {
		return 0
	}
	n := copy(buf, f.batches[0])
	f.batches = f.batches[1:]
	return int32(n)
}

// frame writes records as wasm_bpf_buffer_poll_batch does.
func frame(recs ...string) []byte {
	var b []byte
	for _, r := range recs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r)))
		b = append(b, r...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return b
}

var elfMagic = []byte{0x7f, 'E', 'L', 'F', 0, 0, 0, 0, 0, 0, 0, 0}

func TestErrnoFromLinux(t *testing.T) {
	tests := []struct {
		linux int32
		want  syscall.Errno
	}{
		{1, syscall.EPERM},
		{2, syscall.ENOENT},
		{16, syscall.EBUSY},
		{22, syscall.EINVAL},
		{95, syscall.EOPNOTSUPP},
		{524, syscall.ENOTSUP},
		{9999, syscall.EIO},
	}
	for _, tt := range tests {
		if got := errnoFromLinux(tt.linux); got != tt.want {
			t.Errorf("errnoFromLinux(%d) = %v, want %v", tt.linux, got, tt.want)
		}
	}
	err := hostError(noExplanation{}, "attach", "prog", -2)
	if !errors.Is(err, syscall.ENOENT) || err.Error() != "wasmbpf: attach prog: "+syscall.ENOENT.Error() {
		t.Errorf("hostError = %v", err)
	}
}

// noExplanation is a host without wasm_bpf_last_error.
type noExplanation struct{ hostABI }

// explainingHost is fakeHost with wasm_bpf_last_error.
type explainingHost struct {
	*fakeHost
	errno int32
	msg   string
}

func (h explainingHost) lastError() (int32, string) { return h.errno, h.msg }

// An error carries the runtime's explanation of the failure, and the
// errno of its cause: a failed load is no longer EINVAL whatever happened.
func TestErrorsCarryTheRuntimesExplanation(t *testing.T) {
	const perm = `cannot load BPF object "x": operation not permitted: the process lacks CAP_BPF (for BPF maps and programs); run wasm-bpf as root, or give it this capability`
	_, err := load(explainingHost{newFakeHost(), 1, perm}, []byte("not an ELF"), nil)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, syscall.EPERM) || e.Msg != perm || err.Error() != "wasmbpf: load: "+perm {
		t.Errorf("load: %v (%#v)", err, e)
	}
	// Without wasm_bpf_last_error (the callback-wrapper build): EINVAL.
	if _, err := load(newFakeHost(), []byte("not an ELF"), nil); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("load without explanations: %v", err)
	}
	h := explainingHost{newFakeHost(), 2, `cannot attach program "missing": the BPF object has no program of that name`}
	obj, err := load(h, []byte("\x7fELF"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := obj.Attach("missing", ""); !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "no program of that name") {
		t.Errorf("attach: %v", err)
	}
	// An explanation of another errno is another call's: not quoted.
	h.errno = 1
	obj.host = h
	if err := obj.Attach("missing", ""); err.(*Error).Msg != "" {
		t.Errorf("attach quoted another failure: %v", err)
	}
}

func TestNextRecord(t *testing.T) {
	tests := []struct {
		name    string
		batch   []byte
		want    []string
		wantErr bool
	}{
		{"empty records and padding", frame("", "a", "abcd", "abcde"), []string{"", "a", "abcd", "abcde"}, false},
		{"last record unpadded", frame("ab")[:6], []string{"ab"}, false},
		{"size beyond batch", append(binary.LittleEndian.AppendUint32(nil, 9), "abc"...), nil, true},
		{"short header", []byte{1, 0}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			b := tt.batch
			var err error
			for len(b) > 0 && err == nil {
				var rec []byte
				rec, b, err = nextRecord(b)
				if err == nil {
					got = append(got, string(rec))
				}
			}
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, syscall.EPROTO) {
				t.Errorf("error %v does not wrap EPROTO", err)
			}
		})
	}
}

func TestTimeoutMs(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int32
	}{{-1, -1}, {0, 0}, {time.Microsecond, 1}, {100 * time.Millisecond, 100}, {1500 * time.Microsecond, 2}, {1 << 62, 1<<31 - 1}} {
		if got := timeoutMs(tt.d); got != tt.want {
			t.Errorf("timeoutMs(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestLoadAttachClose(t *testing.T) {
	f := newFakeHost()
	if _, err := load(f, []byte("not elf"), nil); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("load of garbage: %v, want EINVAL", err)
	}
	obj, err := load(f, elfMagic, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := obj.Attach("p", ""); err != nil {
		t.Fatal(err)
	}
	if err := obj.Attach("x", "eth0"); err != nil {
		t.Fatal(err)
	}
	if err := obj.Attach("missing", ""); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("attach missing: %v", err)
	}
	if want := []string{"p@", "x@eth0"}; !slices.Equal(f.attached, want) {
		t.Errorf("attached %q, want %q", f.attached, want)
	}
	if _, err := obj.Map("nope"); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Map(nope): %v", err)
	}
	if err := obj.Close(); err != nil || !f.closed {
		t.Fatalf("Close: %v, closed %v", err, f.closed)
	}
	if err := obj.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := obj.Attach("p", ""); !errors.Is(err, syscall.EBADF) {
		t.Errorf("attach after close: %v", err)
	}
}

func TestVarSet(t *testing.T) {
	f := newFakeHost()
	obj := append([]byte(nil), elfMagic...)
	v := Var[uint32]{Name: "x", Section: ".rodata", Offset: 4}
	if _, err := load(f, obj, []LoadOption{v.Set(0x01020304)}); err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(f.loaded[4:]); got != 0x01020304 {
		t.Errorf("loaded bytes 4:8 = %#x", got)
	}
	if !bytes.Equal(obj, elfMagic) {
		t.Error("Load changed the caller's bytes")
	}
	bad := Var[uint64]{Name: "y", Offset: len(elfMagic) - 4}
	if _, err := load(f, elfMagic, []LoadOption{bad.Set(1)}); !errors.Is(err, syscall.ERANGE) {
		t.Errorf("variable past the end: %v", err)
	}
	other := Var[uint32]{Name: "z", Offset: 4, ObjectSize: len(elfMagic) + 1}
	if _, err := load(f, elfMagic, []LoadOption{other.Set(1)}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("variable of another object: %v", err)
	}
}

func TestTypedMap(t *testing.T) {
	f := newFakeHost()
	f.addMap("m", map[uint32]uint64{1: 10, 2: 20, 5: 50})
	obj, _ := load(f, elfMagic, nil)
	raw, err := obj.Map("m")
	if err != nil {
		t.Fatal(err)
	}
	m := MapOf[uint32, uint64](raw)
	if v, err := m.Lookup(2); err != nil || v != 20 {
		t.Errorf("Lookup(2) = %d, %v", v, err)
	}
	if _, err := m.Lookup(3); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Lookup(3): %v", err)
	}
	if err := m.Update(1, 11, UpdateNoExist); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("Update NoExist of a present key: %v", err)
	}
	if err := m.Update(3, 30, UpdateAny); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(5); err != nil {
		t.Fatal(err)
	}
	got := map[uint32]uint64{}
	for k, v := range m.All() {
		got[k] = v
	}
	if err := m.Err(); err != nil {
		t.Fatal(err)
	}
	if want := map[uint32]uint64{1: 10, 2: 20, 3: 30}; !maps.Equal(got, want) {
		t.Errorf("All = %v, want %v", got, want)
	}
	// Breaking out of the loop stops the iteration.
	n := 0
	for range m.All() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break after %d", n)
	}
	// Raw bytes.
	val := make([]byte, 8)
	if err := raw.Lookup([]byte{1, 0, 0, 0}, val); err != nil || binary.LittleEndian.Uint64(val) != 10 {
		t.Errorf("raw Lookup: %v %v", val, err)
	}
	next := make([]byte, 4)
	if err := raw.NextKey(nil, next); err != nil || next[0] != 1 {
		t.Errorf("NextKey(nil) = %v, %v", next, err)
	}
	obj.Close()
	if _, err := m.Lookup(1); !errors.Is(err, syscall.EBADF) {
		t.Errorf("Lookup after Close: %v", err)
	}
}

func TestReaderPoll(t *testing.T) {
	f := newFakeHost()
	f.addMap("rb", nil)
	obj, _ := load(f, elfMagic, nil)
	rd, err := obj.RingBuffer("rb")
	if err != nil {
		t.Fatal(err)
	}
	f.batches = [][]byte{frame("one", "two", "three"), frame("four")}
	var got []string
	stop := errors.New("stop")
	collect := func(rec []byte) error {
		got = append(got, string(rec))
		if string(rec) == "two" {
			return stop
		}
		return nil
	}
	steps := []struct {
		n       int
		err     error
		wantGot []string
	}{
		{2, stop, []string{"one", "two"}},                 // the callback stops the poll
		{1, nil, []string{"one", "two", "three"}},         // the rest is delivered first
		{1, nil, []string{"one", "two", "three", "four"}}, // then the next batch
		{0, nil, []string{"one", "two", "three", "four"}}, // timeout
	}
	for i, s := range steps {
		n, err := rd.Poll(time.Millisecond, collect)
		if n != s.n || err != s.err || !slices.Equal(got, s.wantGot) {
			t.Fatalf("poll %d: %d, %v, records %q; want %d, %v, %q", i, n, err, got, s.n, s.err, s.wantGot)
		}
	}
	f.pollErr = -4
	if _, err := rd.Poll(0, collect); !errors.Is(err, syscall.EINTR) {
		t.Errorf("poll error: %v, want EINTR", err)
	}
}

// The per-record path allocates nothing: framing and delivery reuse the
// reader's buffer.
func TestReaderPollAllocs(t *testing.T) {
	f := newFakeHost()
	f.addMap("rb", nil)
	obj, _ := load(f, elfMagic, nil)
	rd, _ := obj.RingBuffer("rb")
	batch := frame("a record of some bytes", "another record")
	fn := func(rec []byte) error { return nil }
	queue := make([][]byte, 1)
	allocs := testing.AllocsPerRun(100, func() {
		queue[0] = batch
		f.batches = queue
		if n, err := rd.Poll(0, fn); n != 2 || err != nil {
			t.Fatal(n, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per poll", allocs)
	}
}

func TestCString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{{"abc\x00def", "abc"}, {"abc", "abc"}, {"\x00", ""}} {
		// CString is a string, as its name says; CBytes the bytes.
		var s string = CString([]byte(tt.in))
		if s != tt.want {
			t.Errorf("CString(%q) = %q", tt.in, s)
		}
		in := []byte(tt.in)
		if b := CBytes(in); string(b) != tt.want || len(b) > 0 && &b[0] != &in[0] {
			t.Errorf("CBytes(%q) = %q, not a view of its argument", tt.in, b)
		}
	}
}
