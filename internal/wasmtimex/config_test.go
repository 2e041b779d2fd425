package wasmtimex

import (
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// compile compiles wat with an engine made from cfg and returns the
// engine, the module and its serialized code.
func compile(t *testing.T, cfg *wasmtime.Config, wat string) (*wasmtime.Engine, *wasmtime.Module, []byte) {
	t.Helper()
	wasm, err := wasmtime.Wat2Wasm(wat)
	if err != nil {
		t.Fatal(err)
	}
	engine := wasmtime.NewEngineWithConfig(cfg)
	t.Cleanup(engine.Close)
	m, err := wasmtime.NewModule(engine, wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	code, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return engine, m, code
}

// refusedBy checks that an engine made from cfg refuses code, for a reason
// that names want.
func refusedBy(t *testing.T, cfg *wasmtime.Config, code []byte, want string) {
	t.Helper()
	engine := wasmtime.NewEngineWithConfig(cfg)
	defer engine.Close()
	if _, err := wasmtime.NewModuleDeserialize(engine, code); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("an engine of other settings loaded the code (err %v), want a refusal naming %q", err, want)
	}
}

// An engine configured by UseWinch compiles with Winch: its code is
// refused by a Cranelift engine of the same settings for its calling
// convention, and it still runs, and still stops at an epoch deadline.
func TestUseWinch(t *testing.T) {
	cfg := wasmtime.NewConfig()
	cfg.SetEpochInterruption(true)
	if err := UseWinch(cfg); err != nil {
		t.Fatal(err)
	}
	winch, m, code := compile(t, cfg, `(module
	  (func (export "answer") (result i32) i32.const 42)
	  (func (export "spin") (loop br 0)))`)
	ccfg := wasmtime.NewConfig()
	ccfg.SetEpochInterruption(true)
	refusedBy(t, ccfg, code, "Winch")

	store := wasmtime.NewStore(winch)
	defer store.Close()
	store.SetEpochDeadline(1)
	inst, err := wasmtime.NewInstance(store, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := inst.GetFunc(store, "answer").Call(store); err != nil || v.(int32) != 42 {
		t.Fatalf("answer() = %v, %v", v, err)
	}
	winch.IncrementEpoch()
	if _, err := inst.GetFunc(store, "spin").Call(store); err == nil || !strings.Contains(err.Error(), "interrupt") {
		t.Fatalf("spin() past its epoch deadline: %v, want an interrupt", err)
	}
}

// FixMemory reaches the engine: code compiled for memories that never
// move is refused by an engine whose memories may.
func TestFixMemory(t *testing.T) {
	cfg := wasmtime.NewConfig()
	FixMemory(cfg)
	_, _, code := compile(t, cfg, `(module (memory (export "memory") 1))`)
	refusedBy(t, wasmtime.NewConfig(), code, "memory may move")
}
