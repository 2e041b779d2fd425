package wasi

import (
	"errors"
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
