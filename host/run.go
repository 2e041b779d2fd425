package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
	"github.com/wasm-bpf/wasm-bpf/wasi"
)

// Names of the callback-wrapper convention used by guests that cannot
// export a function table (TinyGo, standard Go); the existing runtimes use
// the same defaults.
const (
	DefaultWrapperModule  = "callback-wrapper"
	DefaultCallbackExport = "go-callback"
)

// ExitTrap is the exit code Run returns for a guest that trapped.
const ExitTrap = wasi.ExitTrap

// TrapError is the error Run returns for a guest that trapped.
type TrapError = wasi.TrapError

// Config is how one guest runs.
type Config struct {
	Args   []string  // argv; Args[0] is the module's path as given
	Env    []string  // KEY=VALUE pairs; nil: an empty environment
	Stdin  io.Reader // nil: empty
	Stdout io.Writer // nil: discarded
	Stderr io.Writer // nil: discarded

	// Logger receives the host's debug log: every refused host call with
	// its reason. libbpf's own log goes to the logger given to
	// libbpf.SetLogger. nil: no log.
	Logger *slog.Logger

	// WrapperModule and CallbackExport rename the callback-wrapper import
	// module and the guest export it calls ("" for the defaults).
	WrapperModule  string
	CallbackExport string
}

// Run compiles and runs the guest module wasm to the end, and returns its
// exit code: 0 when _start returns, n after proc_exit(n), [ExitTrap] and a
// [*TrapError] after a trap. Cancelling ctx stops the guest wherever it
// is, even blocked in a poll; Run then returns an error that matches
// ctx's cause with errors.Is. Whatever ended the guest, every BPF link and
// object it created is gone from the kernel before Run returns, and
// everything it wrote has reached cfg.Stdout and cfg.Stderr.
func Run(ctx context.Context, wasm []byte, cfg Config) (exitCode int, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WrapperModule == "" {
		cfg.WrapperModule = DefaultWrapperModule
	}
	if cfg.CallbackExport == "" {
		cfg.CallbackExport = DefaultCallbackExport
	}
	if err := checkHeader(wasm); err != nil {
		return 1, err
	}

	ecfg := wasmtime.NewConfig()
	ecfg.SetEpochInterruption(true)
	// One engine per guest: bumping its epoch to stop this guest cannot
	// interrupt any other.
	engine := wasmtime.NewEngineWithConfig(ecfg)
	defer engine.Close()
	module, err := wasmtime.NewModule(engine, wasm)
	if err != nil {
		return 1, fmt.Errorf("compile: %w", err)
	}
	defer module.Close()
	if err := checkExports(module); err != nil {
		return 1, err
	}

	store := wasmtime.NewStore(engine)
	store.SetEpochDeadline(1)
	streams, err := wasi.Configure(store, wasi.Config{
		Args: cfg.Args, Env: cfg.Env, Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr,
	})
	if err != nil {
		store.Close()
		return 1, fmt.Errorf("wasi: %w", err)
	}
	defer func() {
		// The store holds the guest's ends of the stdio pipes.
		store.Close()
		streams.Wait()
	}()
	g, err := newGuest(ctx, store, cfg)
	if err != nil {
		return 1, err
	}
	// However the guest ends, nothing it loaded stays in the kernel.
	defer g.closeAll()

	linker := wasmtime.NewLinker(engine)
	defer linker.Close()
	if err := linker.DefineWasi(); err != nil {
		return 1, fmt.Errorf("wasi: %w", err)
	}
	if err := g.define(linker); err != nil {
		return 1, fmt.Errorf("define host functions: %w", err)
	}
	if err := checkImports(linker, store, module, cfg); err != nil {
		return 1, err
	}

	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		engine.IncrementEpoch() // traps the guest at its next function entry or loop back-edge
		g.waker.Wake()          // ends a poll it is blocked in
	})
	defer func() {
		if !stop() {
			<-fired // the waker must outlive the wake
		}
	}()

	var callErr error
	inst, err := linker.Instantiate(store, module)
	if err == nil {
		_, callErr = inst.GetFunc(store, "_start").Call(store)
	} else if !isGuestEnd(err) {
		return 1, fmt.Errorf("instantiate: %w", err)
	} else {
		callErr = err // the module's start function exited or trapped
	}
	if ctx.Err() != nil && callErr != nil {
		return 1, fmt.Errorf("guest stopped: %w", context.Cause(ctx))
	}
	if g.fatal != nil {
		callErr = g.fatal
	}
	return wasi.Exit(callErr)
}

// SetLibbpfLogger sends libbpf's own log (its warnings, the verifier's
// complaint when a load fails) to l at debug level. libbpf has one print
// hook per process, so this is process-wide.
func SetLibbpfLogger(l *slog.Logger) { libbpf.SetLogger(l) }

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
