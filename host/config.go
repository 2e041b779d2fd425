package host

import (
	"io"
	"log/slog"
	"time"
)

// Config is how one guest runs.
type Config struct {
	Args   []string  // argv; Args[0] is the module's path as given
	Env    []string  // KEY=VALUE pairs; nil: an empty environment
	Stdin  io.Reader // nil: empty
	Stdout io.Writer // nil: discarded
	Stderr io.Writer // nil: discarded

	// Logger receives the host's log: every refused host call with its
	// reason (debug), and limits the guest ran into (warn). libbpf's own log
	// goes to the logger given to SetLibbpfLogger. nil: no log.
	Logger *slog.Logger

	// WrapperModule and CallbackExport rename the callback-wrapper import
	// module and the guest export it calls ("" for the defaults).
	WrapperModule  string
	CallbackExport string

	// BTFPath is a file holding the kernel's BTF (for example from
	// BTFHub) for kernels that do not expose it at /sys/kernel/btf/vmlinux:
	// the guest's BPF objects are CO-RE-relocated against it. "": the
	// running kernel's.
	BTFPath string

	// HostFuncs are extra functions the guest may import.
	HostFuncs []HostFunc

	// Limits; zero means none.
	MaxMemory  uint64        // bytes of linear memory: memory.grow beyond it fails in the guest
	CPULimit   time.Duration // time spent running Wasm (counted in 10 ms epoch ticks); exceeding it stops the guest with ErrCPULimit
	MaxObjects int           // BPF objects open at once: further loads return 0
	MaxLinks   int           // programs attached at once: further attaches return -EMFILE
}

// HostFunc is a custom host function: Func is a Go function as
// wasmtime-go's Linker.FuncWrap takes it, with wasm-compatible parameter
// and result types (int32, int64, float32, float64), optionally preceded
// by a *wasmtime.Caller.
type HostFunc struct {
	Module, Name string
	Func         any
}

// Names of the callback-wrapper convention used by guests that cannot
// export a function table (TinyGo, standard Go); the existing runtimes use
// the same defaults.
const (
	DefaultWrapperModule  = "callback-wrapper"
	DefaultCallbackExport = "go-callback"
)

func (cfg Config) withDefaults() Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WrapperModule == "" {
		cfg.WrapperModule = DefaultWrapperModule
	}
	if cfg.CallbackExport == "" {
		cfg.CallbackExport = DefaultCallbackExport
	}
	return cfg
}
