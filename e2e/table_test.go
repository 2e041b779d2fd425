package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// A guest whose __indirect_function_table is not a table of functions
// (here: of externrefs, which C cannot write, so the guest is WAT) gets
// -EINVAL from the classic poll, not a host crash. The guest exits with the
// poll's result, negated.
func TestPollWithNonFunctionTable(t *testing.T) {
	testenv.RequireBPF(t)
	obj, err := os.ReadFile(tc.BPFObjectT(t, filepath.Join("testdata", "events.bpf.c")))
	if err != nil {
		t.Fatal(err)
	}
	var data strings.Builder
	for _, b := range obj {
		fmt.Fprintf(&data, "\\%02x", b)
	}
	const objAt = 4096
	wat := fmt.Sprintf(`(module
  (import "wasm_bpf" "wasm_load_bpf_object" (func $load (param i32 i32) (result i64)))
  (import "wasm_bpf" "wasm_bpf_map_fd_by_name" (func $fd (param i64 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_buffer_poll" (func $poll (param i64 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 4)
  (table (export "__indirect_function_table") 4 externref)
  (data (i32.const 16) "rb\00")
  (data (i32.const %d) "%s")
  (func (export "_start") (local $h i64)
    (local.set $h (call $load (i32.const %d) (i32.const %d)))
    (if (i64.eqz (local.get $h)) (then (call $exit (i32.const 100))))
    (call $exit (i32.sub (i32.const 0)
      (call $poll (local.get $h) (call $fd (local.get $h) (i32.const 16))
        (i32.const 1) (i32.const 0) (i32.const 256) (i32.const 64) (i32.const 0))))))`,
		objAt, data.String(), objAt, len(obj))
	wasm, err := wasmtime.Wat2Wasm(wat)
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	code, err := host.Run(context.Background(), wasm, host.Config{Args: []string{"table.wasm"}, Stderr: &stderr})
	if err != nil || code != 22 {
		t.Fatalf("Run = %d, %v; want exit 22 (the poll returned -EINVAL)\n%s", code, err, stderr.String())
	}
}
