package host

import (
	"context"
	"log/slog"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
	"github.com/wasm-bpf/wasm-bpf/wasi"
)

// ExitTrap is the exit code of a guest that trapped (128+SIGABRT, as the
// wasmtime CLI reports it).
const ExitTrap = wasi.ExitTrap

// TrapError is the error of a guest that trapped.
type TrapError = wasi.TrapError

// Run runs one guest to the end on a runtime of its own, without a compile
// cache, and returns as Instance.Wait does. Cancelling ctx stops the guest
// wherever it is, even blocked in a poll; the error then matches ctx's
// cause with errors.Is. Whatever ended the guest, every BPF link and
// object it created is gone from the kernel before Run returns, and
// everything it wrote has reached cfg.Stdout and cfg.Stderr.
func Run(ctx context.Context, wasm []byte, cfg Config) (exitCode int, err error) {
	rt, err := NewRuntime(RuntimeConfig{})
	if err != nil {
		return 1, err
	}
	defer rt.Close()
	inst, err := rt.Start(ctx, wasm, cfg)
	if err != nil {
		return 1, err
	}
	return inst.Wait()
}

// SetLibbpfLogger sends libbpf's own log (its warnings, the verifier's
// whole log when a load fails, as one multi-line message) to l at debug
// level. libbpf has one print hook per process, so this is process-wide.
// Without it libbpf prints nothing: not to the process's stderr either.
// A failure's cause is in Config.Logger's log anyway, at warn level.
func SetLibbpfLogger(l *slog.Logger) { libbpf.SetLogger(l) }
