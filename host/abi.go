package host

import (
	"github.com/bytecodealliance/wasmtime-go/v39"
)

// hostFunc is a host function as wasmtime's Linker.FuncNew takes it; FuncNew
// is about twice as fast per call as the reflection-based FuncWrap.
type hostFunc = func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap)

// ABI import module names.
const (
	moduleABI  = "wasm_bpf"
	moduleExt  = "wasm_bpf_ext"
	moduleWASI = "wasi_snapshot_preview1"
)

// define adds the guest's host functions to the linker: the six functions
// of import module wasm_bpf, the callback-wrapper poll, and our extensions
// in wasm_bpf_ext (docs/abi.md).
func (g *guest) define(l *wasmtime.Linker) error {
	i32 := wasmtime.NewValType(wasmtime.KindI32)
	i64 := wasmtime.NewValType(wasmtime.KindI64)
	sig := func(result *wasmtime.ValType, params ...*wasmtime.ValType) *wasmtime.FuncType {
		return wasmtime.NewFuncType(params, []*wasmtime.ValType{result})
	}
	defs := []struct {
		module, name string
		ty           *wasmtime.FuncType
		fn           hostFunc
	}{
		{moduleABI, "wasm_load_bpf_object", sig(i64, i32, i32), g.loadObject},
		{moduleABI, "wasm_close_bpf_object", sig(i32, i64), g.closeObject},
		{moduleABI, "wasm_attach_bpf_program", sig(i32, i64, i32, i32), g.attachProgram},
		{moduleABI, "wasm_bpf_map_fd_by_name", sig(i32, i64, i32), g.mapFDByName},
		{moduleExt, "wasm_bpf_last_error", sig(i32, i32, i32), g.lastError},
	}
	for _, d := range defs {
		if err := l.FuncNew(d.module, d.name, d.ty, d.fn); err != nil {
			return err
		}
	}
	// The hot paths, map calls and polls, are served in C.
	table, wrapper, batch := g.maptab.Polls(g.store, g.cfg.CallbackExport)
	for _, d := range []struct {
		module, name string
		fn           *wasmtime.Func
	}{
		{moduleABI, "wasm_bpf_map_operate", g.maptab.MapOperate(g.store)},
		{moduleABI, "wasm_bpf_buffer_poll", table},
		{g.cfg.WrapperModule, "wasm_bpf_buffer_poll", wrapper},
		{moduleExt, "wasm_bpf_buffer_poll_batch", batch},
	} {
		if err := l.Define(g.store, d.module, d.name, d.fn); err != nil {
			return err
		}
	}
	return nil
}

func retI32(v int32) ([]wasmtime.Val, *wasmtime.Trap) {
	return []wasmtime.Val{wasmtime.ValI32(v)}, nil
}

func retI64(v uint64) ([]wasmtime.Val, *wasmtime.Trap) {
	return []wasmtime.Val{wasmtime.ValI64(int64(v))}, nil
}
