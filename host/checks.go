package host

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// checkHeader tells a core module from other files before wasmtime's
// parser gives a less direct message.
func checkHeader(wasm []byte) error {
	switch {
	case len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")):
		return errors.New("not a WebAssembly module (no \\0asm header)")
	case bytes.Equal(wasm[4:8], []byte{0x0d, 0x00, 0x01, 0x00}):
		return errors.New("a WebAssembly component, not a core module: wasm-bpf runs WASI preview1 command modules")
	case !bytes.Equal(wasm[4:8], []byte{1, 0, 0, 0}):
		return fmt.Errorf("unsupported WebAssembly binary version % x", wasm[4:8])
	}
	return nil
}

// checkExports makes sure the module is a WASI command the host can serve.
func checkExports(m *wasmtime.Module) error {
	var start, memory bool
	for _, e := range m.Exports() {
		switch e.Name() {
		case "_start":
			start = e.Type().FuncType() != nil
		case "memory":
			memory = e.Type().MemoryType() != nil
		}
	}
	switch {
	case !start:
		return errors.New("module exports no _start function: it is not a WASI command (a library or reactor module cannot run as a guest)")
	case !memory:
		return errors.New("module exports no memory: the host cannot read guest pointers")
	}
	return nil
}

// checkImports names the first import nothing defines, and who provides it.
func checkImports(l *wasmtime.Linker, store *wasmtime.Store, m *wasmtime.Module, cfg Config) error {
	for _, imp := range m.Imports() {
		name := ""
		if n := imp.Name(); n != nil {
			name = *n
		}
		if l.Get(store, imp.Module(), name) != nil {
			continue
		}
		return fmt.Errorf("module imports %s.%s, which this runtime does not provide: %s",
			imp.Module(), name, importHint(imp.Module(), name, cfg))
	}
	return nil
}

func importHint(module, name string, cfg Config) string {
	switch {
	case module == moduleABI:
		return "it is not a function of the wasm-bpf host ABI"
	case module == moduleExt:
		return "it is a wasm_bpf_ext extension of a newer wasm-bpf-go runtime"
	case name == "wasm_bpf_buffer_poll":
		return fmt.Sprintf("the guest expects the callback-wrapper poll from module %q (this run provides it as %q: pass -m %s)",
			module, cfg.WrapperModule, module)
	case module == moduleWASI:
		return "it is not part of WASI preview1 as wasmtime provides it"
	case module == "wasi_unstable":
		return "WASI snapshot 0 is provided by WAMR (the C++ runtime); rebuild the guest with a current wasi-libc"
	case module == "env":
		return "env imports come from WAMR's built-in libc (the C++ runtime) or Emscripten; build the guest for wasm32-wasi with wasi-libc"
	case strings.HasPrefix(module, "wasi:"):
		return "WASI 0.2 interfaces belong to components; wasm-bpf runs WASI preview1 command modules"
	default:
		return "no wasm-bpf runtime provides this module"
	}
}
