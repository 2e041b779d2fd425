package host

import (
	"bytes"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// The WASI warm-up module's bytes are its text's.
func TestWASIWarmupIsItsText(t *testing.T) {
	want, err := wasmtime.Wat2Wasm(wasiWarmupWat)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wasiWarmup, want) {
		t.Errorf("wasiWarmup is\n%q\nits text compiles to\n%q", wasiWarmup, want)
	}
}
