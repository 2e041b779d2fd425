package wasi

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// Config is a guest's WASI environment.
type Config struct {
	Args   []string  // argv; Args[0] is the module's path as given
	Env    []string  // KEY=VALUE pairs; nil: an empty environment
	Stdin  io.Reader // nil: empty
	Stdout io.Writer // nil: discarded
	Stderr io.Writer // nil: discarded
}

// Streams is the host side of a guest's standard streams.
type Streams struct {
	closeOnce sync.Once
	out       *outputs
	stdin     *stdinPump      // nil: the guest's stdin is empty
	interrupt <-chan struct{} // closed when the guest is stopped (see Define)
}

// Configure builds the WASI configuration for cfg and installs it in store.
// Call Wait once the guest has ended: it flushes the rest of its output.
func Configure(store *wasmtime.Store, cfg Config) (*Streams, error) {
	wc := wasmtime.NewWasiConfig()
	wc.SetArgv(cfg.Args)
	keys, values, err := splitEnv(cfg.Env)
	if err != nil {
		return nil, err
	}
	wc.SetEnv(keys, values)

	s := &Streams{out: newOutputs(cfg.Stdout, cfg.Stderr)}
	s.setStdin(cfg.Stdin)
	// The guest's writes are served by fd_write here (see Define), never
	// by wasmtime; wasmtime only answers fd_fdstat_get, so that a guest
	// writing to the process's own terminal sees one (and flushes by
	// line) as it would under wasmtime.
	if isProcessFD(cfg.Stdout, 1) {
		wc.InheritStdout()
	}
	if isProcessFD(cfg.Stderr, 2) {
		wc.InheritStderr()
	}
	store.SetWasi(wc)
	return s, nil
}

func splitEnv(env []string) (keys, values []string, err error) {
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("environment entry %q: want KEY=VALUE", kv)
		}
		keys, values = append(keys, k), append(values, v)
	}
	return keys, values, nil
}

// isProcessFD reports whether w is the process's own descriptor fd.
func isProcessFD(w io.Writer, fd uintptr) bool {
	f, ok := w.(*os.File)
	return ok && f.Fd() == fd
}

// setStdin leaves wasmtime's stdin empty (its default, which needs no
// /dev/null: the runtime may run in an empty chroot): the guest's reads of
// fd 0 are served from a pump of r instead (see Define), so that they can
// be interrupted.
func (s *Streams) setStdin(r io.Reader) {
	if r != nil {
		s.stdin = newStdinPump(r)
	}
}

// Wait waits until everything the guest wrote has reached the writers, or,
// if the guest was stopped, until the writers take no more of it (a
// writer blocked for good must not keep a stopped guest from ending; what
// it takes later is still written, by a goroutine left behind).
func (s *Streams) Wait() {
	s.closeOnce.Do(func() {
		s.out.close(s.interrupt)
		if s.stdin != nil {
			close(s.stdin.stop)
		}
	})
}
