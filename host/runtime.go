package host

import (
	"sync"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// epochTick is how often the runtime advances wasmtime's epoch. A guest
// running Wasm notices a pause, a stop or its CPU limit within one tick.
const epochTick = 10 * time.Millisecond

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
	guests sync.WaitGroup
}

// NewRuntime creates a runtime.
func NewRuntime(cfg RuntimeConfig) (*Runtime, error) {
	rt := &Runtime{
		engine:   wasmtime.NewEngineWithConfig(engineConfig()),
		stopTick: make(chan struct{}),
		tickDone: make(chan struct{}),
		live:     map[*Instance]struct{}{},
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
	return rt, nil
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

// Close stops every guest still running, waits for them to end, and
// releases the engine.
func (rt *Runtime) Close() {
	rt.closeOnce.Do(func() {
		rt.mu.Lock()
		rt.closed = true
		for inst := range rt.live {
			inst.Terminate()
		}
		rt.mu.Unlock()
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
