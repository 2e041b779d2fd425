package host

import (
	"errors"
	"fmt"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// tableExport is the function table a C guest exports with
// -Wl,--export-table; the classic poll's sample_func indexes it (poll.c of
// host/internal/cabi names it too).
const tableExport = "__indirect_function_table"

// buildForWASI is how to build a guest for the target this runtime runs.
const buildForWASI = "build it for wasm32-wasi (C: clang --target=wasm32-wasi; Go: GOOS=wasip1 GOARCH=wasm; Rust: --target wasm32-wasip1)"

// checkTarget refuses, before any of its code runs, a module built for
// another target than wasm32 WASI, or linked so that a host function it
// imports cannot work, with the build option that fixes it. Without
// these checks such modules fail later and obscurely: "exports no
// _start", an import type mismatch, or -EINVAL at the first poll.
func checkTarget(m *wasmtime.Module) error {
	var wasi, gojs, classicPoll bool
	for _, imp := range m.Imports() {
		switch imp.Module() {
		case moduleWASI, "wasi_unstable":
			wasi = true
		case "gojs", "go":
			gojs = true
		case moduleABI:
			if n := imp.Name(); n != nil && *n == "wasm_bpf_buffer_poll" {
				classicPoll = true
			}
		}
		if mt := imp.Type().MemoryType(); mt != nil && mt.Is64() {
			return errors.New("the module is wasm64 (its memory is 64-bit), and wasm-bpf guests are wasm32: " + buildForWASI)
		}
	}
	var start, table bool
	for _, e := range m.Exports() {
		switch {
		case e.Type().MemoryType() != nil && e.Type().MemoryType().Is64():
			return errors.New("the module is wasm64 (its memory is 64-bit), and wasm-bpf guests are wasm32: " + buildForWASI)
		case e.Name() == "_start":
			start = e.Type().FuncType() != nil
		case e.Name() == tableExport:
			// A table of anything but functions is the guest's doing (C
			// cannot write one): its polls get -EINVAL.
			table = e.Type().TableType() != nil
		}
	}
	switch {
	case gojs:
		return errors.New("the module was built for GOOS=js (a browser or Node.js: it imports gojs), not for WASI: build it with GOOS=wasip1 GOARCH=wasm")
	case !wasi && !start:
		return errors.New("the module imports nothing from WASI and exports no _start: it was built for a bare wasm32 target, not for WASI; " + buildForWASI)
	case classicPoll && !table:
		return fmt.Errorf("the module imports %s.wasm_bpf_buffer_poll, which calls its record callback through the function table, but exports no table %s: link it with -Wl,--export-table", moduleABI, tableExport)
	}
	return nil
}
