package wasi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/internal/wasmtimex"
)

func TestExit(t *testing.T) {
	other := errors.New("link failed")
	tests := []struct {
		name string
		err  error
		code int
		trap bool
		same error // error returned unchanged
	}{
		{"return", nil, 0, false, nil},
		{"proc_exit in callback", &wasmtimex.Exit{Code: 3}, 3, false, nil},
		{"proc_exit 0 in callback", &wasmtimex.Exit{Code: 0}, 0, false, nil},
		{"trap in callback", &wasmtimex.Trap{Message: "unreachable"}, ExitTrap, true, nil},
		{"trap", wasmtime.NewTrap("boom"), ExitTrap, true, nil},
		{"host error", other, 1, false, other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := Exit(tt.err)
			if code != tt.code {
				t.Errorf("code = %d, want %d", code, tt.code)
			}
			var te *TrapError
			if errors.As(err, &te) != tt.trap {
				t.Errorf("err = %v, trap %v", err, tt.trap)
			}
			if tt.same != nil && err != tt.same {
				t.Errorf("err = %v, want it unchanged", err)
			}
			if !tt.trap && tt.same == nil && err != nil {
				t.Errorf("err = %v, want nil", err)
			}
		})
	}
}

// proc_exit(n) ends the guest with n & 0xff, as exit(3) ends a native
// program; wasmtime's own proc_exit traps for n >= 126.
func TestExiter(t *testing.T) {
	engine := wasmtime.NewEngine()
	for _, tt := range []struct {
		n    int32
		want int
	}{{0, 0}, {3, 3}, {125, 125}, {126, 126}, {255, 255}, {-1, 255}, {256, 0}, {1000, 232}} {
		wasm, err := wasmtime.Wat2Wasm(fmt.Sprintf(`(module
		  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
		  (memory (export "memory") 1)
		  (func (export "_start") (call $exit (i32.const %d)) unreachable))`, tt.n))
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
		ex, err := DefineExit(linker)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := linker.Instantiate(store, module)
		if err != nil {
			t.Fatal(err)
		}
		_, callErr := inst.GetFunc(store, "_start").Call(store)
		code, err := ex.Exit(callErr)
		if code != tt.want || err != nil {
			t.Errorf("proc_exit(%d): exit %d, %v; want %d", tt.n, code, err, tt.want)
		}
	}
}
