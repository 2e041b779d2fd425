package host

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// epochTick is how often the runtime advances wasmtime's epoch. A guest
// running Wasm notices a pause, a stop or its CPU limit within one tick.
const epochTick = 10 * time.Millisecond

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("runtime is closed")

// RuntimeConfig configures a Runtime.
type RuntimeConfig struct {
	// CacheDir keeps compiled guests between runs, keyed by the module's
	// hash and the engine's version and settings; "" disables the cache.
	// DefaultCacheDir is the usual place.
	CacheDir string
}

// Runtime compiles and runs guests. Create one per process and start any
// number of guests from it, concurrently; they share the engine and the
// compile cache, and nothing else.
type Runtime struct {
	engine *wasmtime.Engine
	cache  *codeCache // nil: no cache

	stopTick  chan struct{}
	tickDone  chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	live   map[*Instance]struct{}
	closed bool
	starts sync.WaitGroup // Starts in progress: they compile with the engine
	guests sync.WaitGroup
}

// NewRuntime creates a runtime.
func NewRuntime(cfg RuntimeConfig) (*Runtime, error) {
	ecfg := wasmtime.NewConfig()
	// Epoch interruption is how a guest is paused and stopped in Wasm code;
	// it costs a load and compare at function entries and loop back-edges.
	ecfg.SetEpochInterruption(true)
	rt := &Runtime{
		engine:   wasmtime.NewEngineWithConfig(ecfg),
		stopTick: make(chan struct{}),
		tickDone: make(chan struct{}),
		live:     map[*Instance]struct{}{},
	}
	if err := rt.startWASI(); err != nil {
		rt.engine.Close()
		return nil, fmt.Errorf("WASI: %w", err)
	}
	if cfg.CacheDir != "" {
		c, err := newCodeCache(cfg.CacheDir, engineFingerprint)
		if err != nil {
			rt.engine.Close()
			return nil, err
		}
		rt.cache = c
	}
	go rt.tick()
	return rt, nil
}

// wasiWarmup calls one WASI function that wasmtime serves.
const wasiWarmup = `(module
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (drop (call $fdstat (i32.const 1) (i32.const 0)))))`

// startWASI makes wasmtime create the state its WASI keeps for the whole
// process (an async runtime, with its own file descriptors) now: wasmtime
// creates it at the first WASI call a guest makes, and aborts the process
// if that fails, as it does once a guest has used up the process's file
// descriptors.
func (rt *Runtime) startWASI() error {
	wasm, err := wasmtime.Wat2Wasm(wasiWarmup)
	if err != nil {
		return err
	}
	module, err := wasmtime.NewModule(rt.engine, wasm)
	if err != nil {
		return err
	}
	defer module.Close()
	store := wasmtime.NewStore(rt.engine)
	defer store.Close()
	store.SetEpochDeadline(1) // the epoch does not advance before tick runs
	store.SetWasi(wasmtime.NewWasiConfig())
	linker := wasmtime.NewLinker(rt.engine)
	defer linker.Close()
	if err := linker.DefineWasi(); err != nil {
		return err
	}
	inst, err := linker.Instantiate(store, module)
	if err != nil {
		return err
	}
	_, err = inst.GetFunc(store, "run").Call(store)
	return err
}

func (rt *Runtime) tick() {
	defer close(rt.tickDone)
	t := time.NewTicker(epochTick)
	defer t.Stop()
	for {
		select {
		case <-rt.stopTick:
			return
		case <-t.C:
			rt.engine.IncrementEpoch()
		}
	}
}

// Close stops every guest still running, waits for them to end and for
// the Starts in progress to return (ErrClosed), and releases the engine.
// Start after Close returns ErrClosed.
func (rt *Runtime) Close() {
	rt.closeOnce.Do(func() {
		rt.mu.Lock()
		rt.closed = true
		for inst := range rt.live {
			inst.Terminate()
		}
		rt.mu.Unlock()
		rt.starts.Wait()
		rt.guests.Wait()
		close(rt.stopTick)
		<-rt.tickDone
		rt.engine.Close()
	})
}

// use marks a Start in progress, so that Close leaves the engine until it
// is done; it fails once Close has begun.
func (rt *Runtime) use() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return ErrClosed
	}
	rt.starts.Add(1)
	return nil
}

// engineFingerprint names the engine's code generation settings in cache
// keys: a change to NewRuntime's configuration must change it.
const engineFingerprint = "wasmtime-go/v39.0.1;epoch-interruption"

// compile returns the compiled module, from the cache when it holds it.
func (rt *Runtime) compile(wasm []byte) (*wasmtime.Module, error) {
	if rt.cache != nil {
		if m := rt.cache.load(rt.engine, wasm); m != nil {
			return m, nil
		}
	}
	m, err := wasmtime.NewModule(rt.engine, wasm)
	if err != nil {
		return nil, err
	}
	if rt.cache != nil {
		rt.cache.store(wasm, m)
	}
	return m, nil
}
