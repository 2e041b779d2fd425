package cabi_test

import (
	"encoding/binary"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/host/internal/cabi"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// opWat re-exports the host function so the test can call it as a guest
// would; its memory is one page (65536 bytes).
const opWat = `(module
  (import "wasm_bpf" "wasm_bpf_map_operate" (func $op (param i32 i32 i32 i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  (func (export "op") (param i32 i32 i32 i32 i32 i64) (result i32)
    (call $op (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5))))`

// harness makes a table that reports refusals to refused and instantiates
// opWat with its wasm_bpf_map_operate; it returns the table, the guest's
// memory and a call of the function.
func harness(t *testing.T, refused cabi.RefusalFunc) (*cabi.Table, []byte, func(fd, cmd int32, key, value, next uint32) int32) {
	t.Helper()
	table := cabi.New(refused, nil, -1, nil)
	t.Cleanup(table.Free) // after the store is closed
	engine := wasmtime.NewEngine()
	store := wasmtime.NewStore(engine)
	t.Cleanup(store.Close)
	linker := wasmtime.NewLinker(engine)
	if err := linker.Define(store, "wasm_bpf", "wasm_bpf_map_operate", table.MapOperate(store)); err != nil {
		t.Fatal(err)
	}
	wasm, err := wasmtime.Wat2Wasm(opWat)
	if err != nil {
		t.Fatal(err)
	}
	module, err := wasmtime.NewModule(engine, wasm)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := linker.Instantiate(store, module)
	if err != nil {
		t.Fatal(err)
	}
	mem := inst.GetExport(store, "memory").Memory().UnsafeData(store)
	return table, mem, func(fd, cmd int32, key, value, next uint32) int32 {
		res, err := inst.GetFunc(store, "op").Call(store, fd, cmd, int32(key), int32(value), int32(next), int64(0))
		if err != nil {
			t.Fatal(err)
		}
		return res.(int32)
	}
}

func hashMap(t *testing.T, name string, keySize, valueSize uint32) int32 {
	t.Helper()
	fd, err := libbpf.CreateMap(libbpf.MapTypeHash, name, keySize, valueSize, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return int32(fd)
}

func TestMapOperate(t *testing.T) {
	testenv.RequireBPF(t)
	fd, err := libbpf.CreateMap(libbpf.MapTypeHash, "t_mapop", 4, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)

	var refusals []syscall.Errno
	table, mem, op := harness(t, func(_, _ int32, errno syscall.Errno, _ string) { refusals = append(refusals, errno) })
	if err := table.Set(int32(fd), 1, libbpf.MapTypeHash, 4, 8); err != nil {
		t.Fatal(err)
	}
	const key, value, next, end = 0x100, 0x200, 0x300, 65536
	binary.LittleEndian.PutUint32(mem[key:], 7)
	binary.LittleEndian.PutUint64(mem[value:], 0xfeedface)

	tests := []struct {
		name             string
		fd, cmd          int32
		key, value, next uint32
		want             int32
	}{
		{"not a map fd", 0, 1, key, value, 0, -9},
		{"negative fd", -1, 1, key, value, 0, -9},
		{"huge fd", 1 << 30, 1, key, value, 0, -9},
		{"cmd 0", int32(fd), 0, key, value, 0, -22},
		{"cmd 99", int32(fd), 99, key, value, 0, -22},
		{"lookup of a missing key", int32(fd), 1, key, value, 0, -2},
		{"key one byte past the end", int32(fd), 1, end - 3, value, 0, -14},
		{"value one byte past the end", int32(fd), 2, key, end - 7, 0, -14},
		{"value far outside", int32(fd), 2, key, 0xfffffff0, 0, -14},
		{"update", int32(fd), 2, key, value, 0, 0},
		{"lookup", int32(fd), 1, key, next, 0, 0},
		{"first key", int32(fd), 4, 0, 0, next + 64, 0},
		{"next key after the last", int32(fd), 4, key, 0, next + 64, -2},
		{"next_key outside", int32(fd), 4, 0, 0, end - 2, -14},
		{"delete", int32(fd), 3, key, 0, 0, 0},
		{"delete again", int32(fd), 3, key, 0, 0, -2},
		{"delete with the key outside", int32(fd), 3, end, 0, 0, -14},
	}
	if _, ok := table.LastFailure(); ok {
		t.Error("a failure recorded before any call")
	}
	var last cabi.Failure
	for _, tt := range tests {
		if got := op(tt.fd, tt.cmd, tt.key, tt.value, tt.next); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
		// Each failure is recorded for wasm_bpf_last_error, with why the
		// host refused it ("" for the kernel's answer); a success leaves
		// the record as it was.
		f, ok := table.LastFailure()
		if tt.want < 0 {
			if !ok || f.Errno != syscall.Errno(-tt.want) || f.FD != tt.fd || f.Cmd != tt.cmd ||
				(f.Why == "") != (tt.want == -2) {
				t.Errorf("%s: failure recorded as %+v", tt.name, f)
			}
			last = f
		} else if f != last {
			t.Errorf("%s: a success changed the record to %+v", tt.name, f)
		}
		switch tt.name {
		case "lookup":
			if v := binary.LittleEndian.Uint64(mem[next:]); v != 0xfeedface {
				t.Errorf("lookup wrote %#x into guest memory", v)
			}
		case "first key":
			if k := binary.LittleEndian.Uint32(mem[next+64:]); k != 7 {
				t.Errorf("first key %d, want 7", k)
			}
		}
	}
	if len(refusals) != 10 {
		t.Errorf("refusals reported: %v, want the 10 the host decided", refusals)
	}
	// A removed fd is refused again.
	table.Remove(int32(fd))
	if got := op(int32(fd), 1, key, value, 0); got != -9 {
		t.Errorf("after Remove: %d, want -EBADF", got)
	}
	// A failure the Go side records takes over.
	table.NoteFailure()
	if f, ok := table.LastFailure(); ok {
		t.Errorf("after NoteFailure: %+v", f)
	}
}

// The kernel's enum bpf_map_type values the fd checks know.
const (
	progArray      = 3
	perfEventArray = 4
	cgroupArray    = 8
	arrayOfMaps    = 12
	hashOfMaps     = 13
	devMap         = 14
	sockMap        = 15
	cpuMap         = 16
	xskMap         = 17
	sockHash       = 18
	reuseportArray = 20
	skStorage      = 24
	devMapHash     = 25
	structOps      = 26
	inodeStorage   = 28
	taskStorage    = 29
	cgrpStorage    = 32
	unknownType    = 200
)

// The fd checks decide before the kernel sees anything: a refused call
// never reaches the map. The map fds under test are real hash maps that
// the table claims to be of each type, so what the checks let through
// reaches a kernel that stores any value: 0.
func TestMapOperateFDs(t *testing.T) {
	testenv.RequireBPF(t)
	type refusal struct {
		fd    int32
		errno syscall.Errno
		why   string
	}
	var refusals []refusal
	table, mem, op := harness(t, func(fd, _ int32, errno syscall.Errno, why string) {
		refusals = append(refusals, refusal{fd, errno, why})
	})
	v4 := hashMap(t, "t_fd_v4", 4, 4) // maps whose values are 4 bytes
	v8 := hashMap(t, "t_fd_v8", 4, 8) // and 8
	own := hashMap(t, "t_fd_own", 4, 8)
	other := hashMap(t, "t_fd_other", 4, 8) // a map of "another guest": never in the table
	sibling := hashMap(t, "t_fd_sib", 4, 8) // a map of the guest's other object
	const object, otherObject = 1, 2        // the handles of the guest's two objects
	const ownProg, siblingProg = 1000, 1001 // programs of each, as far as the table knows
	if err := table.Set(own, object, libbpf.MapTypeHash, 4, 8); err != nil {
		t.Fatal(err)
	}
	if err := table.Set(sibling, otherObject, libbpf.MapTypeHash, 4, 8); err != nil {
		t.Fatal(err)
	}
	if err := table.SetProgram(ownProg, object); err != nil {
		t.Fatal(err)
	}
	if err := table.SetProgram(siblingProg, otherObject); err != nil {
		t.Fatal(err)
	}

	const key, value = 0x100, 0x200
	const (
		lookup = 1
		update = 2
		del    = 3
		next   = 4
	)
	const ebadf, eopnotsupp = -int32(syscall.EBADF), -int32(syscall.EOPNOTSUPP)
	tests := []struct {
		name    string
		typ     libbpf.MapType
		v8      bool  // the map's value is 8 bytes
		cmd     int32 // update unless set
		key     int32
		lo, hi  int32 // the value's two halves (hi only in 8-byte values)
		want    int32
		wantWhy string // part of the logged reason
	}{
		{name: "array_of_maps: own map", typ: arrayOfMaps, lo: own},
		{name: "array_of_maps: another guest's map", typ: arrayOfMaps, lo: other, want: ebadf, wantWhy: "not a map of this guest"},
		{name: "array_of_maps: own program", typ: arrayOfMaps, lo: ownProg, want: ebadf},
		{name: "array_of_maps: stdin", typ: arrayOfMaps, lo: 0, want: ebadf},
		{name: "array_of_maps: -1", typ: arrayOfMaps, lo: -1, want: ebadf, wantWhy: "carries fd 4294967295"},
		// A map holds its own object's maps and programs only: those of
		// another object would outlive it in the kernel. (They got in.)
		{name: "array_of_maps: map of another object", typ: arrayOfMaps, lo: sibling, want: ebadf, wantWhy: "not a map of this map's object"},
		{name: "hash_of_maps: map of another object", typ: hashOfMaps, lo: sibling, want: ebadf},
		{name: "prog_array: program of another object", typ: progArray, lo: siblingProg, want: ebadf, wantWhy: "not a program of this map's object"},
		{name: "devmap: program of another object", typ: devMap, v8: true, lo: 1, hi: siblingProg, want: ebadf, wantWhy: "this map's object"},
		{name: "cpumap: program of another object", typ: cpuMap, v8: true, lo: 192, hi: siblingProg, want: ebadf},
		{name: "hash_of_maps: own map", typ: hashOfMaps, lo: own},
		{name: "hash_of_maps: another guest's map", typ: hashOfMaps, lo: other, want: ebadf},
		{name: "prog_array: own program", typ: progArray, lo: ownProg},
		{name: "prog_array: own map", typ: progArray, lo: own, want: ebadf, wantWhy: "not a program of this guest"},
		{name: "prog_array: another guest's map", typ: progArray, lo: other, want: ebadf},
		{name: "devmap, 4 bytes: an ifindex only", typ: devMap, lo: other},
		{name: "devmap: no program (0)", typ: devMap, v8: true, lo: 1, hi: 0},
		{name: "devmap: no program (-1)", typ: devMap, v8: true, lo: 1, hi: -1},
		{name: "devmap: own program", typ: devMap, v8: true, lo: 1, hi: ownProg},
		{name: "devmap: own map", typ: devMap, v8: true, lo: 1, hi: own, want: ebadf, wantWhy: "program fd"},
		{name: "devmap: another guest's map", typ: devMap, v8: true, lo: 1, hi: other, want: ebadf},
		{name: "devmap_hash: own program", typ: devMapHash, v8: true, lo: 1, hi: ownProg},
		{name: "devmap_hash: stdout", typ: devMapHash, v8: true, lo: 1, hi: 1, want: ebadf},
		{name: "cpumap, 4 bytes: a queue size only", typ: cpuMap, lo: other},
		{name: "cpumap: own program", typ: cpuMap, v8: true, lo: 192, hi: ownProg},
		{name: "cpumap: another guest's map", typ: cpuMap, v8: true, lo: 192, hi: other, want: ebadf},
		{name: "sockmap: own map", typ: sockMap, lo: own, want: ebadf, wantWhy: "socket fds"},
		{name: "sockmap, 8 bytes", typ: sockMap, v8: true, lo: 0, want: ebadf},
		{name: "sockhash", typ: sockHash, lo: 3, want: ebadf},
		{name: "reuseport_sockarray", typ: reuseportArray, v8: true, lo: 3, want: ebadf},
		{name: "xskmap", typ: xskMap, lo: 3, want: ebadf, wantWhy: "AF_XDP socket"},
		{name: "cgroup_array", typ: cgroupArray, lo: 3, want: ebadf, wantWhy: "cgroup fds"},
		{name: "perf_event_array: own map", typ: perfEventArray, lo: own, want: ebadf, wantWhy: "perf event fds"},
		{name: "struct_ops", typ: structOps, v8: true, want: ebadf, wantWhy: "struct_ops"},
		// Deletes and lookups of fd-valued maps take an index, not an fd.
		{name: "prog_array: lookup", typ: progArray, cmd: lookup, want: -int32(syscall.ENOENT)},
		{name: "sockmap: delete", typ: sockMap, cmd: del, want: -int32(syscall.ENOENT)},
		// Local storage: the key is an fd, for lookup, update and delete.
		{name: "sk_storage: update", typ: skStorage, v8: true, key: 3, want: ebadf, wantWhy: "its keys are socket fds (this one 3)"},
		{name: "sk_storage: lookup", typ: skStorage, v8: true, cmd: lookup, key: 3, want: ebadf},
		{name: "sk_storage: delete", typ: skStorage, v8: true, cmd: del, key: 3, want: ebadf},
		{name: "inode_storage: lookup", typ: inodeStorage, v8: true, cmd: lookup, key: own, want: ebadf, wantWhy: "file fds"},
		{name: "task_storage: update", typ: taskStorage, v8: true, key: 0, want: ebadf, wantWhy: "pidfd"},
		{name: "cgrp_storage: delete", typ: cgrpStorage, v8: true, cmd: del, key: 0, want: ebadf, wantWhy: "cgroup fds"},
		{name: "sk_storage: next key", typ: skStorage, v8: true, cmd: next, key: 3, want: -int32(syscall.ENOENT)},
		// A type newer than the runtime may carry fds anywhere.
		{name: "unknown type: update", typ: unknownType, v8: true, want: eopnotsupp, wantWhy: "does not know"},
		{name: "unknown type: lookup", typ: unknownType, v8: true, cmd: lookup, want: eopnotsupp},
	}
	for _, tt := range tests {
		fd, size := v4, uint32(4)
		if tt.v8 {
			fd, size = v8, 8
		}
		if err := table.Set(fd, object, tt.typ, 4, size); err != nil {
			t.Fatal(err)
		}
		cmd := tt.cmd
		if cmd == 0 {
			cmd = update
		}
		binary.LittleEndian.PutUint32(mem[key:], uint32(tt.key))
		binary.LittleEndian.PutUint32(mem[value:], uint32(tt.lo))
		binary.LittleEndian.PutUint32(mem[value+4:], uint32(tt.hi))
		refusals = refusals[:0]
		nextKey := uint32(0)
		if cmd == next {
			nextKey = value
		}
		got := op(fd, cmd, key, value, nextKey)
		if got != tt.want {
			t.Errorf("%s: got %d, want %d (refusals %v)", tt.name, got, tt.want, refusals)
			continue
		}
		refused := tt.want == ebadf || tt.want == eopnotsupp
		switch {
		case !refused && len(refusals) != 0:
			t.Errorf("%s: the kernel's result, yet refusals were reported: %v", tt.name, refusals)
		case !refused:
		case len(refusals) != 1 || refusals[0].fd != fd || -int32(refusals[0].errno) != tt.want:
			t.Errorf("%s: refusals %v, want one for fd %d", tt.name, refusals, fd)
		case !strings.Contains(refusals[0].why, tt.wantWhy):
			t.Errorf("%s: reason %q does not say %q", tt.name, refusals[0].why, tt.wantWhy)
		}
		// What got through is in the map; what was refused never reached it.
		var stored [8]byte
		err := libbpf.MapLookup(int(fd), unsafe.Pointer(&mem[key]), unsafe.Pointer(&stored[0]), 0)
		if inserted := err == nil; inserted != (cmd == update && tt.want == 0) {
			t.Errorf("%s: element in the map afterwards: %v (lookup: %v)", tt.name, inserted, err)
		}
		libbpf.MapDelete(int(fd), unsafe.Pointer(&mem[key]), 0)
	}
}
