package wasmtimex

import (
	"errors"
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

const calleeWat = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "sum") (param i32 i32 i32) (result i32)
    (i32.add (i32.add (local.get 0) (local.get 1)) (local.get 2)))
  (func (export "trap") (param i32 i32 i32) (result i32) unreachable)
  (func (export "exit") (param i32 i32 i32) (result i32)
    (call $exit (local.get 0)) (i32.const 0)))`

func instantiate(t testing.TB) (*wasmtime.Store, *wasmtime.Instance) {
	t.Helper()
	engine := wasmtime.NewEngine()
	wasm, err := wasmtime.Wat2Wasm(calleeWat)
	if err != nil {
		t.Fatal(err)
	}
	module, err := wasmtime.NewModule(engine, wasm)
	if err != nil {
		t.Fatal(err)
	}
	store := wasmtime.NewStore(engine)
	store.SetWasi(wasmtime.NewWasiConfig())
	linker := wasmtime.NewLinker(engine)
	if err := linker.DefineWasi(); err != nil {
		t.Fatal(err)
	}
	inst, err := linker.Instantiate(store, module)
	if err != nil {
		t.Fatal(err)
	}
	return store, inst
}

func TestCallI32x3(t *testing.T) {
	store, inst := instantiate(t)
	defer store.Close()

	got, err := CallI32x3(store, inst.GetFunc(store, "sum"), 1, 20, -300)
	if err != nil || got != -279 {
		t.Fatalf("sum = %d, %v; want -279", got, err)
	}
	_, err = CallI32x3(store, inst.GetFunc(store, "trap"), 0, 0, 0)
	var trap *Trap
	if !errors.As(err, &trap) || !strings.Contains(trap.Message, "unreachable") {
		t.Fatalf("trap: %v", err)
	}
	_, err = CallI32x3(store, inst.GetFunc(store, "exit"), 7, 0, 0)
	var exit *Exit
	if !errors.As(err, &exit) || exit.Code != 7 {
		t.Fatalf("exit: %v", err)
	}
}

// BenchmarkGuestCall compares one host-to-guest call through wasmtime-go's
// checked Call with the unchecked path the poll callbacks use.
func BenchmarkGuestCall(b *testing.B) {
	store, inst := instantiate(b)
	defer store.Close()
	sum := inst.GetFunc(store, "sum")
	b.Run("wasmtime-go Call", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := sum.Call(store, int32(1), int32(2), int32(3)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CallI32x3", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := CallI32x3(store, sum, 1, 2, 3); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestSameFunc(t *testing.T) {
	store, inst := instantiate(t)
	defer store.Close()
	a1, a2, b := inst.GetFunc(store, "sum"), inst.GetFunc(store, "sum"), inst.GetFunc(store, "trap")
	if !SameFunc(a1, a2) || SameFunc(a1, b) {
		t.Fatalf("SameFunc: sum~sum %v, sum~trap %v", SameFunc(a1, a2), SameFunc(a1, b))
	}
}
