package wasmtimex

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

func TestEpochDeadlineCallback(t *testing.T) {
	cfg := wasmtime.NewConfig()
	cfg.SetEpochInterruption(true)
	engine := wasmtime.NewEngineWithConfig(cfg)
	store := wasmtime.NewStore(engine)
	defer store.Close()
	store.SetEpochDeadline(1)

	var calls atomic.Int32
	err := SetEpochDeadlineCallback(store, func() (uint64, error) {
		if calls.Add(1) < 3 {
			return 1, nil // keep running: the loop survives two deadlines
		}
		return 0, errors.New("stopped by the test")
	})
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := wasmtime.Wat2Wasm(`(module (func (export "spin") (loop br 0)))`)
	if err != nil {
		t.Fatal(err)
	}
	module, err := wasmtime.NewModule(engine, wasm)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := wasmtime.NewInstance(store, module, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				engine.IncrementEpoch()
			}
		}
	}()
	_, err = inst.GetFunc(store, "spin").Call(store)
	close(done)
	if err == nil || !strings.Contains(err.Error(), "stopped by the test") {
		t.Fatalf("spin returned %v, want the callback's error", err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("callback ran %d times, want 3", n)
	}
}
