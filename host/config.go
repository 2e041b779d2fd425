package host

import (
	"io"
	"log/slog"
	"time"

	"github.com/wasm-bpf/wasm-bpf/policy"
)

// Config is how one guest runs.
type Config struct {
	Args   []string  // argv; Args[0] is the module's path as given
	Env    []string  // KEY=VALUE pairs; nil: an empty environment
	Stdin  io.Reader // nil: empty
	Stdout io.Writer // nil: discarded
	Stderr io.Writer // nil: discarded

	// Logger receives the host's log: every refused host call with its
	// reason (debug), and, in one line naming the cause and its fix, every
	// failure that stops a load, an attach or the read of a buffer, and the
	// limits the guest ran into (warn). libbpf's own log goes to the logger
	// given to SetLibbpfLogger. nil: no log.
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

	// Policy is what the guest's BPF objects may ask of the kernel, checked
	// before every load and attach (docs/policy.md); nil: the "observe"
	// profile. An embedder that trusts its guests as the other wasm-bpf
	// runtimes do grants policy.All.
	Policy *policy.Policy

	// Limits; zero means none.
	MaxMemory  uint64        // bytes of linear memory: memory.grow beyond it fails in the guest
	CPULimit   time.Duration // CPU time of the guest's thread (its Wasm code and the host calls it makes there, read at each 10 ms epoch tick it runs Wasm in); exceeding it stops the guest with ErrCPULimit
	MaxObjects int           // BPF objects in the kernel at once: further loads return 0
	MaxLinks   int           // programs attached at once: further attaches return -EMFILE (MaxFDs bounds them too)

	// MaxFDs bounds the file descriptors the guest makes the host hold:
	// its objects' maps, programs and BTF, its ring and perf buffer
	// consumers (counted when their object loads) and its links (two each
	// at most). A load past it returns 0 and an attach -EMFILE, so that no
	// guest can use up the process's descriptors. Zero means
	// DefaultMaxFDs; negative, no limit.
	MaxFDs int
	// MaxMapMemory bounds the kernel memory of the maps of the guest's open
	// objects together, as estimated from each object before it loads
	// (policy.Object.MapMemory): a load that would pass it returns 0.
	MaxMapMemory uint64
}

// DefaultMaxFDs is MaxFDs when Config leaves it zero: a guest's objects
// seldom hold more than a hundred.
const DefaultMaxFDs = 1024

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
	if cfg.Policy == nil {
		cfg.Policy = policy.Default()
	}
	if cfg.CallbackExport == "" {
		cfg.CallbackExport = DefaultCallbackExport
	}
	return cfg
}
