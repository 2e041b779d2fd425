package host

import (
	"crypto/sha256"
	"errors"
	"runtime"
	"sync"
	"syscall"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/internal/wasmtimex"
)

// How a runtime gets a guest's native code. A module is compiled once per
// runtime and shared by every guest started from it while any of them
// runs (its code and its memory image are mapped once). With a compile
// cache, code comes from the cache when it holds it; a module it does not
// hold is compiled by Winch, wasmtime's baseline compiler, which takes
// about a seventh of Cranelift's time, so that a first run starts at
// once, and compiled again by Cranelift in the background, at the lowest
// CPU priority, for the cache: the next start gets optimized code. Without
// a cache every start compiles with Cranelift.

// The engines' code generation settings, named in cache keys: a change to
// engineConfig or to the tiers must change them.
const (
	engineFingerprint = "wasmtime-go/v39.0.1;epoch-interruption;fixed-memory;cranelift"
	quickFingerprint  = "wasmtime-go/v39.0.1;epoch-interruption;fixed-memory;winch"
)

// engineConfig is the configuration every engine of a runtime shares.
func engineConfig() *wasmtime.Config {
	cfg := wasmtime.NewConfig()
	// Epoch interruption is how a guest is paused and stopped in Wasm code;
	// it costs a load and compare at function entries and loop back-edges.
	cfg.SetEpochInterruption(true)
	// Linear memory grows in place: the polls keep a pointer to the
	// guest's record buffer across the callbacks, and code need not reload
	// the memory's base after a call.
	wasmtimex.FixMemory(cfg)
	return cfg
}

// quickEngine returns a Winch engine, or nil if this libwasmtime cannot be
// told to use Winch.
func quickEngine() *wasmtime.Engine {
	cfg := engineConfig()
	if err := wasmtimex.UseWinch(cfg); err != nil {
		cfg.Close()
		return nil
	}
	return wasmtime.NewEngineWithConfig(cfg)
}

// module is a compiled module shared by the guests started from it.
type module struct {
	m      *wasmtime.Module
	engine *wasmtime.Engine // the engine its stores must come from
	key    [sha256.Size]byte
	quick  bool // Winch's code: Cranelift's is on its way to the cache
	cached bool // taken from the cache
	refs   int  // guests using it; it is closed when the last one ends
}

func (m *module) compiler() string {
	if m.quick {
		return "winch"
	}
	return "cranelift"
}

// modules are a runtime's shared modules and the compiles in progress.
type modules struct {
	mu        sync.Mutex
	byKey     map[[sha256.Size]byte]*module
	compiling map[[sha256.Size]byte]chan struct{}
	optimize  chan struct{} // one background compile at a time: each takes a core and much memory
	closed    bool          // the runtime is closed: background compiles are dropped
	writes    sync.WaitGroup
}

// write runs store unless the runtime is closed; Close waits for it.
func (ms *modules) write(store func()) {
	ms.mu.Lock()
	if ms.closed {
		ms.mu.Unlock()
		return
	}
	ms.writes.Add(1)
	ms.mu.Unlock()
	defer ms.writes.Done()
	store()
}

// close stops background compiles from touching the cache, once the
// writes in progress are done.
func (ms *modules) close() {
	ms.mu.Lock()
	ms.closed = true
	ms.mu.Unlock()
	ms.writes.Wait()
}

// module returns wasm's compiled module, shared, compiled or loaded from
// the cache if no running guest shares one. Release it with release. With
// count, a load from the cache or a compile counts for CacheStats (the
// runtime's own modules do not).
func (rt *Runtime) module(wasm []byte, count bool) (*module, error) {
	key := sha256.Sum256(wasm)
	ms := &rt.mods
	for {
		ms.mu.Lock()
		if m := ms.byKey[key]; m != nil {
			m.refs++
			ms.mu.Unlock()
			return m, nil
		}
		if done := ms.compiling[key]; done != nil {
			ms.mu.Unlock()
			<-done
			continue
		}
		done := make(chan struct{})
		ms.compiling[key] = done
		ms.mu.Unlock()

		m, err := rt.load(key, wasm)
		if err == nil && rt.cache != nil && count {
			if m.cached {
				rt.cache.hits.Add(1)
			} else {
				rt.cache.misses.Add(1)
			}
		}
		ms.mu.Lock()
		delete(ms.compiling, key)
		close(done)
		if err == nil {
			m.refs = 1
			ms.byKey[key] = m
			if m.quick {
				m.refs++ // the background compile's
				go rt.optimize(m, wasm)
			}
		}
		ms.mu.Unlock()
		return m, err
	}
}

// release ends a guest's use of m.
func (rt *Runtime) release(m *module) {
	ms := &rt.mods
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if m.refs--; m.refs == 0 {
		if ms.byKey[m.key] == m {
			delete(ms.byKey, m.key)
		}
		m.m.Close()
	}
}

// load takes the module from the cache, or compiles it.
func (rt *Runtime) load(key [sha256.Size]byte, wasm []byte) (*module, error) {
	if rt.cache == nil {
		m, err := wasmtime.NewModule(rt.engine, wasm)
		if err != nil {
			return nil, err
		}
		return &module{m: m, engine: rt.engine, key: key}, nil
	}
	if m := rt.cache.load(rt.engine, engineFingerprint, key); m != nil {
		return &module{m: m, engine: rt.engine, key: key, cached: true}, nil
	}
	if rt.quick == nil {
		m, err := rt.compileOptimized(key, wasm)
		if err != nil {
			return nil, err
		}
		return &module{m: m, engine: rt.engine, key: key}, nil
	}
	mod := &module{engine: rt.quick, key: key, quick: true}
	if mod.m = rt.cache.load(rt.quick, quickFingerprint, key); mod.m != nil {
		mod.cached = true
	} else if m, err := wasmtime.NewModule(rt.quick, wasm); err == nil {
		mod.m = m
	} else {
		// Winch lacks something the module uses: Cranelift compiles it.
		m, err := rt.compileOptimized(key, wasm)
		if err != nil {
			return nil, err
		}
		return &module{m: m, engine: rt.engine, key: key}, nil
	}
	return mod, nil
}

// compileOptimized compiles wasm with Cranelift and caches the code.
func (rt *Runtime) compileOptimized(key [sha256.Size]byte, wasm []byte) (*wasmtime.Module, error) {
	m, err := wasmtime.NewModule(rt.engine, wasm)
	if err != nil {
		return nil, err
	}
	rt.cacheModule(engineFingerprint, key, m) // a failure costs the next start a compile
	return m, nil
}

func (rt *Runtime) cacheModule(fingerprint string, key [sha256.Size]byte, m *wasmtime.Module) error {
	code, err := m.Serialize()
	if err != nil {
		return err
	}
	return rt.cache.store(fingerprint, key, code)
}

// optimize caches quick's code (Winch's, unless the cache had it), then
// compiles the module with Cranelift for the cache, on one thread at the
// lowest CPU priority (nice 19) so that it takes only time the guests
// leave idle. Guests started later load the result.
func (rt *Runtime) optimize(quick *module, wasm []byte) {
	// The thread ends with the goroutine, and its priority with it.
	runtime.LockOSThread()
	syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
	if !quick.cached {
		rt.mods.write(func() { rt.cacheModule(quickFingerprint, quick.key, quick.m) })
	}
	rt.release(quick)
	select {
	case rt.mods.optimize <- struct{}{}:
		defer func() { <-rt.mods.optimize }()
	case <-rt.stopTick:
		return
	}
	cfg := engineConfig()
	cfg.SetParallelCompilation(false) // compiles the same code, on this thread only
	engine := wasmtime.NewEngineWithConfig(cfg)
	defer engine.Close()
	m, err := wasmtime.NewModule(engine, wasm)
	if err != nil {
		return // Winch compiled it: Cranelift does not refuse it
	}
	defer m.Close()
	code, err := m.Serialize()
	if err != nil {
		return
	}
	rt.mods.write(func() { rt.cache.store(engineFingerprint, quick.key, code) })
	rt.mods.mu.Lock()
	if rt.mods.byKey[quick.key] == quick {
		delete(rt.mods.byKey, quick.key) // the next start loads Cranelift's code
	}
	rt.mods.mu.Unlock()
}

// errNoCache is Precompile's error on a runtime without a compile cache.
var errNoCache = errors.New("the runtime has no compile cache (RuntimeConfig.CacheDir)")

// Precompile compiles wasm with Cranelift into the runtime's compile
// cache, so that the first start of it runs optimized code at once. After
// Close it returns ErrClosed.
func (rt *Runtime) Precompile(wasm []byte) error {
	if err := rt.use(); err != nil {
		return err
	}
	defer rt.starts.Done()
	if err := checkHeader(wasm); err != nil {
		return err
	}
	if rt.cache == nil {
		return errNoCache
	}
	m, err := wasmtime.NewModule(rt.engine, wasm)
	if err != nil {
		return err
	}
	defer m.Close()
	return rt.cacheModule(engineFingerprint, sha256.Sum256(wasm), m)
}
