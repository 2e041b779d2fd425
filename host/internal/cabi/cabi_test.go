package cabi_test

import (
	"encoding/binary"
	"syscall"
	"testing"

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

func TestMapOperate(t *testing.T) {
	testenv.RequireBPF(t)
	fd, err := libbpf.CreateMap(libbpf.MapTypeHash, "t_mapop", 4, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)

	var refusals []syscall.Errno
	table := cabi.New(func(_, _ int32, errno syscall.Errno, _ string) { refusals = append(refusals, errno) }, nil, -1, nil)
	engine := wasmtime.NewEngine()
	store := wasmtime.NewStore(engine)
	defer table.Free()
	defer store.Close()
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
	op := func(fd, cmd int32, key, value, next uint32) int32 {
		res, err := inst.GetFunc(store, "op").Call(store, fd, cmd, int32(key), int32(value), int32(next), int64(0))
		if err != nil {
			t.Fatal(err)
		}
		return res.(int32)
	}
	if err := table.Set(int32(fd), 4, 8); err != nil {
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
	for _, tt := range tests {
		if got := op(tt.fd, tt.cmd, tt.key, tt.value, tt.next); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
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
}
