package host

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/internal/wasmtimex"
	"github.com/wasm-bpf/wasm-bpf/wasi"
)

// Instance is one running guest.
type Instance struct {
	mod   *module // the compiled module it runs
	ctl   *control
	stats *guestStats
	done  chan struct{}
	code  int
	err   error
}

// Start compiles (or takes from the cache) and links the guest module, and
// runs it in a new goroutine. Errors that prevent the guest from starting
// (not Wasm, no _start, an import nobody provides) are returned here;
// everything after is reported by Wait. Cancelling ctx stops the guest as
// Terminate does, with ctx's cause as the reason.
func (rt *Runtime) Start(ctx context.Context, wasm []byte, cfg Config) (*Instance, error) {
	if err := rt.use(); err != nil {
		return nil, err
	}
	defer rt.starts.Done()
	cfg = cfg.withDefaults()
	if err := checkHeader(wasm); err != nil {
		return nil, err
	}
	mod, err := rt.module(wasm, true)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	cfg.Logger.Debug("module ready", "compiler", mod.compiler(), "from_cache", mod.cached)
	module := mod.m
	if err := checkTarget(module); err != nil {
		rt.release(mod)
		return nil, err
	}
	if err := checkExports(module); err != nil {
		rt.release(mod)
		return nil, err
	}
	ctl, err := newControl(cfg.CPULimit)
	if err != nil {
		rt.release(mod)
		return nil, err
	}
	store := wasmtime.NewStore(mod.engine)
	g := newGuest(store, ctl, cfg, rt.loads)
	inst := &Instance{mod: mod, ctl: ctl, stats: g.stats, done: make(chan struct{})}
	linker, streams, err := rt.prepare(g, mod.engine, module)
	if err != nil {
		store.Close()
		g.maptab.Free()
		rt.release(mod)
		ctl.close()
		return nil, err
	}

	// release frees what Start made, in this order: the store holds the
	// guest's ends of the stdio pipes and the functions of the C table.
	release := func() {
		store.Close()
		g.maptab.Free()
		streams.Wait()
		linker.Close()
		rt.release(mod)
		ctl.close()
	}

	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		release()
		return nil, ErrClosed
	}
	rt.live[inst] = struct{}{}
	rt.guests.Add(1)
	rt.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { ctl.stop(context.Cause(ctx)) })
	go func() {
		// Deferred, so that even a panic leaves nothing in the kernel.
		defer rt.guests.Done()
		defer close(inst.done)
		defer func() {
			rt.mu.Lock()
			delete(rt.live, inst)
			rt.mu.Unlock()
		}()
		defer release()
		defer g.closeAll() // nothing the guest loaded outlives it
		defer stop()
		inst.code, inst.err = g.run(linker, module)
	}()
	return inst, nil
}

// prepare configures the store and links every import of the module.
func (rt *Runtime) prepare(g *guest, engine *wasmtime.Engine, module *wasmtime.Module) (*wasmtime.Linker, *wasi.Streams, error) {
	cfg := g.cfg
	store := g.store
	if cfg.MaxMemory > 0 {
		store.Limiter(int64(cfg.MaxMemory), -1, -1, -1, -1)
	}
	store.SetEpochDeadline(1)
	if err := wasmtimex.SetEpochDeadlineCallback(store, g.onDeadline); err != nil {
		return nil, nil, err
	}
	streams, err := wasi.Configure(store, wasi.Config{
		Args: cfg.Args, Env: cfg.Env, Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("wasi: %w", err)
	}
	linker := wasmtime.NewLinker(engine)
	fail := func(err error) (*wasmtime.Linker, *wasi.Streams, error) {
		linker.Close()
		store.Close()
		streams.Wait()
		return nil, nil, err
	}
	if err := linker.DefineWasi(); err != nil {
		return fail(fmt.Errorf("wasi: %w", err))
	}
	if err := streams.Define(linker, store, g.ctl.done); err != nil {
		return fail(fmt.Errorf("wasi: %w", err))
	}
	if g.exit, err = wasi.DefineExit(linker); err != nil {
		return fail(fmt.Errorf("wasi: %w", err))
	}
	if err := g.define(linker); err != nil {
		return fail(fmt.Errorf("define host functions: %w", err))
	}
	for _, f := range cfg.HostFuncs {
		if err := linker.FuncWrap(f.Module, f.Name, f.Func); err != nil {
			return fail(fmt.Errorf("host function %s.%s: %w", f.Module, f.Name, err))
		}
	}
	if err := checkImports(linker, store, module, cfg); err != nil {
		return fail(err)
	}
	return linker, streams, nil
}

// run instantiates the module and calls its _start.
func (g *guest) run(linker *wasmtime.Linker, module *wasmtime.Module) (int, error) {
	// One thread for the whole run, so that its CPU clock is the guest's
	// (control.onDeadline reads it for Config.CPULimit).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	g.ctl.startClock()
	var callErr error
	inst, err := linker.Instantiate(g.store, module)
	switch {
	case err == nil:
		g.findMemory(inst)
		_, callErr = inst.GetFunc(g.store, "_start").Call(g.store)
	case isGuestEnd(err):
		callErr = err // the module's start function exited or trapped
	default:
		if g.cfg.MaxMemory > 0 && strings.Contains(err.Error(), "memory") {
			return 1, fmt.Errorf("instantiate (memory limit %d bytes): %w", g.cfg.MaxMemory, err)
		}
		return 1, fmt.Errorf("instantiate: %w", err)
	}
	if cause := g.ctl.stopCause(); cause != nil && callErr != nil {
		return 1, fmt.Errorf("guest stopped: %w", cause)
	}
	if g.fatal != nil {
		callErr = g.fatal
	}
	return g.exit.Exit(callErr)
}

// isGuestEnd reports whether err is the guest's own doing (a trap or an
// exit) rather than a failure to link it.
func isGuestEnd(err error) bool {
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		return true
	}
	var werr *wasmtime.Error
	if errors.As(err, &werr) {
		_, ok := werr.ExitStatus()
		return ok
	}
	return false
}

// Pause stops the guest: its Wasm code within one epoch tick (10 ms), and
// its event delivery before the next record, also while it waits in a
// poll or runs a callback. Records stay in the kernel's buffers (up to
// their size) and are delivered in order after Resume.
func (i *Instance) Pause() { i.ctl.pause() }

// Resume continues a paused guest.
func (i *Instance) Resume() { i.ctl.resume() }

// Terminate stops the guest wherever it is, as cancelling its context
// does; Wait then reports ErrTerminated. All of its links, programs and
// maps leave the kernel.
func (i *Instance) Terminate() { i.ctl.stop(ErrTerminated) }

// Done is closed when the guest has ended and everything it created is gone.
func (i *Instance) Done() <-chan struct{} { return i.done }

// Wait waits for the guest to end and returns its exit code: 0 when _start
// returns, n & 0xff after proc_exit(n) (as a native program's, so main
// returning -1 is 255), ExitTrap and a *TrapError after a trap.
// A guest stopped from outside returns an error that matches the reason
// with errors.Is: ErrTerminated, ErrCPULimit, or its context's cause.
func (i *Instance) Wait() (exitCode int, err error) {
	<-i.done
	return i.code, i.err
}
