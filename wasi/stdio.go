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
	ours      []*os.File // pipe ends the host still holds
	copies    sync.WaitGroup
	stdin     *stdinPump // nil: the guest's stdin is empty
}

// Configure builds the WASI configuration for cfg and installs it in store.
// Call Wait after the store is closed: the guest's copies of the pipes
// close with the store, and Wait then flushes the rest of its output.
func Configure(store *wasmtime.Store, cfg Config) (*Streams, error) {
	wc := wasmtime.NewWasiConfig()
	wc.SetArgv(cfg.Args)
	keys, values, err := splitEnv(cfg.Env)
	if err != nil {
		return nil, err
	}
	wc.SetEnv(keys, values)

	s := &Streams{}
	s.setStdin(cfg.Stdin)
	if err := s.output(cfg.Stdout, 1, wc.InheritStdout, wc.SetStdoutFile); err != nil {
		s.Wait()
		return nil, fmt.Errorf("stdout: %w", err)
	}
	if err := s.output(cfg.Stderr, 2, wc.InheritStderr, wc.SetStderrFile); err != nil {
		s.Wait()
		return nil, fmt.Errorf("stderr: %w", err)
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

// fdPath names an open descriptor of this process as a path, the only way
// to hand a pipe to wasmtime-go; wasmtime opens it again and keeps its own.
func fdPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

// setStdin leaves wasmtime's stdin empty (its default, which needs no
// /dev/null: the runtime may run in an empty chroot): the guest's reads of
// fd 0 are served from a pump of r instead (see Define), so that they can
// be interrupted.
func (s *Streams) setStdin(r io.Reader) {
	if r != nil {
		s.stdin = newStdinPump(r)
	}
}

// output connects the guest's stream to w: the process's own stream (fd)
// is inherited, anything else goes through a pipe.
func (s *Streams) output(w io.Writer, fd uintptr, inherit func(), setFile func(string) error) error {
	if w == nil {
		return nil // wasmtime's default sink
	}
	if f, ok := w.(*os.File); ok && f.Fd() == fd {
		inherit()
		return nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	if err := setFile(fdPath(pw)); err != nil {
		pr.Close()
		pw.Close()
		return err
	}
	pw.Close() // wasmtime holds its own write end now
	s.ours = append(s.ours, pr)
	s.copies.Add(1)
	go func() {
		defer s.copies.Done()
		// A failing writer must not block the guest on a full pipe.
		if _, err := io.Copy(w, pr); err != nil {
			io.Copy(io.Discard, pr)
		}
	}()
	return nil
}

// Wait waits until everything the guest wrote has reached the writers.
// The store must be closed first, or Wait blocks until it is.
func (s *Streams) Wait() {
	s.copies.Wait()
	s.closeOnce.Do(func() {
		for _, f := range s.ours {
			f.Close()
		}
		if s.stdin != nil {
			close(s.stdin.stop)
		}
	})
}
