package wasmtimex

import (
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// An engine configured by UseWinch compiles with Winch: its code is
// refused by a Cranelift engine of the same settings for its calling
// convention, and it still runs, and still stops at an epoch deadline.
func TestUseWinch(t *testing.T) {
	wasm, err := wasmtime.Wat2Wasm(`(module
	  (func (export "answer") (result i32) i32.const 42)
	  (func (export "spin") (loop br 0)))`)
	if err != nil {
		t.Fatal(err)
	}
	cfg := wasmtime.NewConfig()
	cfg.SetEpochInterruption(true)
	if err := UseWinch(cfg); err != nil {
		t.Fatal(err)
	}
	winch := wasmtime.NewEngineWithConfig(cfg)
	defer winch.Close()
	m, err := wasmtime.NewModule(winch, wasm)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	code, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	ccfg := wasmtime.NewConfig()
	ccfg.SetEpochInterruption(true)
	cranelift := wasmtime.NewEngineWithConfig(ccfg)
	defer cranelift.Close()
	if _, err := wasmtime.NewModuleDeserialize(cranelift, code); err == nil || !strings.Contains(err.Error(), "Winch") {
		t.Fatalf("a Cranelift engine loaded the code of a UseWinch engine (err %v): UseWinch did not select Winch", err)
	}

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
	wasm, err := wasmtime.Wat2Wasm(`(module (memory (export "memory") 1))`)
	if err != nil {
		t.Fatal(err)
	}
	cfg := wasmtime.NewConfig()
	FixMemory(cfg)
	fixed := wasmtime.NewEngineWithConfig(cfg)
	defer fixed.Close()
	m, err := wasmtime.NewModule(fixed, wasm)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	code, err := m.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	moving := wasmtime.NewEngine()
	defer moving.Close()
	if _, err := wasmtime.NewModuleDeserialize(moving, code); err == nil || !strings.Contains(err.Error(), "memory may move") {
		t.Fatalf("an engine whose memories may move loaded code compiled for fixed memories (err %v)", err)
	}
}
