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

func TestDeliverer(t *testing.T) {
	store, inst := instantiate(t)
	defer store.Close()
	mem := inst.GetExport(store, "memory").Memory()
	rec := []byte("a record of 20 bytes")
	for _, tt := range []struct {
		fn   string
		max  uint32
		want int32
		err  string
	}{
		{"sum", 64, 7 + 1024 + 20, ""}, // ctx + data + n
		{"sum", 8, 7 + 1024 + 8, ""},   // the record cut to max
		{"trap", 64, -1, "unreachable"},
		{"exit", 64, -1, "exit"},
	} {
		d := NewDeliverer(store, mem, inst.GetFunc(store, tt.fn), 7, 1024, tt.max)
		got := d.deliver(rec)
		err := d.Err()
		d.Free()
		if got != tt.want {
			t.Errorf("%s max %d: got %d, want %d", tt.fn, tt.max, got, tt.want)
		}
		switch tt.err {
		case "":
			n := min(int(tt.max), len(rec))
			if err != nil {
				t.Errorf("%s: %v", tt.fn, err)
			}
			if data := mem.UnsafeData(store)[1024 : 1024+n]; string(data) != string(rec[:n]) {
				t.Errorf("%s: guest memory holds %q", tt.fn, data)
			}
		case "unreachable":
			var trap *Trap
			if !errors.As(err, &trap) || !strings.Contains(trap.Message, "unreachable") {
				t.Errorf("trap: %v", err)
			}
		case "exit":
			var exit *Exit
			if !errors.As(err, &exit) || exit.Code != 7 {
				t.Errorf("exit: %v", err)
			}
		}
	}
}

// BenchmarkGuestCall compares one host-to-guest call through wasmtime-go's
// checked Call with the copy-and-call a classic poll makes per record.
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
	b.Run("Deliverer", func(b *testing.B) {
		d := NewDeliverer(store, inst.GetExport(store, "memory").Memory(), sum, 1, 1024, 64)
		defer d.Free()
		rec := make([]byte, 64)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if d.deliver(rec) < 0 {
				b.Fatal(d.Err())
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
