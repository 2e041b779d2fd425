package host

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// epochTick is how often the runtime advances wasmtime's epoch. A guest
// running Wasm notices a pause, a stop or its CPU limit within one tick.
const epochTick = 10 * time.Millisecond

// ErrClosed is returned by Start and Precompile after Close.
var ErrClosed = errors.New("runtime is closed")

// RuntimeConfig configures a Runtime.
type RuntimeConfig struct {
	// CacheDir keeps compiled guests between runs, keyed by the module's
	// hash and the engine's version and settings; "" disables the cache.
	// DefaultCacheDir is the usual place. With a cache, a module it lacks
	// starts at once on code from wasmtime's baseline compiler while its
	// optimized code is compiled in the background for later starts (see
	// Precompile); without one, every start compiles optimized code.
	CacheDir string
}

// Runtime compiles and runs guests. Create one per process and start any
// number of guests from it, concurrently; they share the engine and the
// compile cache, and the compiled code of a module while any of its guests
// runs, and nothing else.
type Runtime struct {
	engine *wasmtime.Engine // Cranelift: the code of the cache, or of every start without it
	quick  *wasmtime.Engine // Winch, for modules the cache lacks; nil: none (no cache)
	cache  *codeCache       // nil: no cache
	mods   modules

	stopTick  chan struct{}
	tickDone  chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	live   map[*Instance]struct{}
	closed bool
	starts sync.WaitGroup // Starts and Precompiles in progress: they compile with the engines
	guests sync.WaitGroup

	// loads holds a slot for each BPF object load in progress, its own
	// guest's or one a stopped guest left to finish in the background.
	// Guests started and stopped faster than their loads finish piled
	// abandoned loads up without bound (the agent's soak: 500 at once,
	// 11 MB of libbpf's kernel BTF copies each, 1.8 GB); the verifier
	// is CPU-bound, so more loads than CPUs at once finish none sooner.
	loads chan struct{}
}

// NewRuntime creates a runtime.
func NewRuntime(cfg RuntimeConfig) (*Runtime, error) {
	rt := &Runtime{
		engine:   wasmtime.NewEngineWithConfig(engineConfig()),
		stopTick: make(chan struct{}),
		tickDone: make(chan struct{}),
		live:     map[*Instance]struct{}{},
		loads:    make(chan struct{}, max(2, goruntime.NumCPU())),
		mods: modules{
			byKey:     map[[32]byte]*module{},
			compiling: map[[32]byte]chan struct{}{},
			optimize:  make(chan struct{}, 1),
		},
	}
	if cfg.CacheDir != "" {
		c, err := newCodeCache(cfg.CacheDir)
		if err != nil {
			rt.engine.Close()
			return nil, err
		}
		rt.cache = c
		rt.quick = quickEngine()
	}
	go rt.tick()
	if err := rt.startWASI(); err != nil {
		rt.Close()
		return nil, fmt.Errorf("WASI: %w", err)
	}
	return rt, nil
}

// wasiWarmup is a module that calls one WASI function that wasmtime
// serves; wasiWarmupWat is its text (warmup_test.go checks that they
// agree). Bytes rather than text: parsing text would page in wasmtime's
// text parser at every start.
var wasiWarmup = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x0a\x02\x60\x02\x7f\x7f\x01\x7f\x60\x00\x00" + // types: (i32, i32) -> i32, () -> ()
	"\x02\x28\x01\x16wasi_snapshot_preview1\x0dfd_fdstat_get\x00\x00" + // import
	"\x03\x02\x01\x01\x05\x03\x01\x00\x01" + // func run; memory 1
	"\x07\x10\x02\x06memory\x02\x00\x03run\x00\x01" + // exports
	"\x0a\x0b\x01\x09\x00\x41\x01\x41\x00\x10\x00\x1a\x0b") // run's code

const wasiWarmupWat = `(module
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (drop (call 0 (i32.const 1) (i32.const 0)))))`

// startWASI makes wasmtime create the state its WASI keeps for the whole
// process (an async runtime, with its own file descriptors) now: wasmtime
// creates it at the first WASI call a guest makes, and aborts the process
// if that fails, as it does once a guest has used up the process's file
// descriptors. The module comes from the compile cache as guests' do:
// compiling it at every start paged in Cranelift (about 5 MB of RSS) and
// cost a compile.
func (rt *Runtime) startWASI() error {
	mod, err := rt.module(wasiWarmup, false)
	if err != nil {
		return err
	}
	defer rt.release(mod)
	store := wasmtime.NewStore(mod.engine)
	defer store.Close()
	store.SetEpochDeadline(1 << 32) // our own code, which never loops: no deadline
	store.SetWasi(wasmtime.NewWasiConfig())
	linker := wasmtime.NewLinker(mod.engine)
	defer linker.Close()
	if err := linker.DefineWasi(); err != nil {
		return err
	}
	inst, err := linker.Instantiate(store, mod.m)
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
			if rt.quick != nil {
				rt.quick.IncrementEpoch()
			}
		}
	}
}

// Close stops every guest still running, waits for them to end and for
// the Starts and Precompiles in progress to return, and releases the
// engines. Start and Precompile after Close return ErrClosed.
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
		rt.mods.close()
		close(rt.stopTick)
		<-rt.tickDone
		rt.engine.Close()
		if rt.quick != nil {
			rt.quick.Close()
		}
	})
}

// use marks a Start or Precompile in progress, so that Close leaves the
// engines until it is done; it fails once Close has begun.
func (rt *Runtime) use() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return ErrClosed
	}
	rt.starts.Add(1)
	return nil
}
