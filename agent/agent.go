package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/oci"
)

// Config configures an Agent.
type Config struct {
	// Runtime runs every guest; the agent does not close it.
	Runtime *host.Runtime
	// Registry pulls guests given by reference; nil refuses them.
	Registry *oci.Client
	// Logger receives the agent's log, and each guest's host log with the
	// attribute guest=ID; nil: none.
	Logger *slog.Logger
	// Level is the lowest level of a guest's host log that its log buffer
	// keeps too (default Info: refusals and limits, not every host call).
	Level slog.Leveler
	// LogBuffer is how many bytes of output the agent keeps per guest
	// (default 1 MiB); older lines go first.
	LogBuffer int
	// BackoffInitial and BackoffMax bound the delay before a restart: it
	// starts at BackoffInitial and doubles up to BackoffMax (defaults 1 s
	// and 5 min). A guest that ran for longer than BackoffMax before it
	// ended starts over from BackoffInitial.
	BackoffInitial, BackoffMax time.Duration
	// File names the guest file in messages ("" for none).
	File string
}

// Agent supervises guests. Its methods are safe for concurrent use.
type Agent struct {
	cfg Config
	log *slog.Logger

	apply sync.Mutex // one Apply at a time

	mu     sync.Mutex
	guests map[string]*guest
	closed bool
	ready  bool

	reloadsOK, reloadsFailed atomic.Uint64 // of the guest file
}

// New returns an agent with no guests.
func New(cfg Config) *Agent {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Level == nil {
		cfg.Level = slog.LevelInfo
	}
	if cfg.LogBuffer <= 0 {
		cfg.LogBuffer = 1 << 20
	}
	if cfg.BackoffInitial <= 0 {
		cfg.BackoffInitial = time.Second
	}
	if cfg.BackoffMax < cfg.BackoffInitial {
		cfg.BackoffMax = max(5*time.Minute, cfg.BackoffInitial)
	}
	return &Agent{cfg: cfg, log: cfg.Logger, guests: map[string]*guest{}}
}

// Error is a refusal of the API, with the HTTP status that says what kind.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func notFound(id string) error {
	return &Error{http.StatusNotFound, fmt.Sprintf("no guest %q (wasm-bpf ps lists the guests)", id)}
}

func conflict(format string, args ...any) error {
	return &Error{http.StatusConflict, fmt.Sprintf(format, args...)}
}

func badRequest(err error) error { return &Error{http.StatusBadRequest, err.Error()} }

var errShuttingDown = &Error{http.StatusServiceUnavailable, "the agent is shutting down"}

// Start starts a guest for the API. Paths in spec must be absolute. An id
// in use by a guest that is still active, or by the guest file, is
// refused; a guest that has ended is replaced.
func (a *Agent) Start(spec Spec) (Status, error) {
	spec, err := spec.Check("")
	if err != nil {
		return Status{}, badRequest(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return Status{}, errShuttingDown
	}
	if old, ok := a.guests[spec.ID]; ok {
		if old.source == SourceFile {
			return Status{}, conflict("guest %s is defined in the guest file %s: change it there", spec.ID, a.cfg.File)
		}
		if old.status().State.active() {
			return Status{}, conflict("guest %s is %s: stop it first (wasm-bpf stop %s)", spec.ID, old.status().State, spec.ID)
		}
	}
	g, err := a.startLocked(spec, SourceAPI, nil)
	if err != nil {
		return Status{}, err
	}
	return g.status(), nil
}

// startLocked starts a supervisor for spec, a checked spec; logs continues
// the log of a guest it replaces (nil: a new log).
func (a *Agent) startLocked(spec Spec, source Source, logs *logBuffer) (*guest, error) {
	pol, err := spec.Policy()
	if err != nil {
		return nil, badRequest(err)
	}
	if logs == nil {
		logs = newLogBuffer(a.cfg.LogBuffer)
	}
	g := newGuest(a, spec, source, pol, logs)
	a.guests[spec.ID] = g
	a.log.Info("guest starting", "guest", spec.ID, "module", spec.Module, "source", source, "restart", spec.restart(), "policy", pol.String())
	go g.run()
	return g, nil
}

func (a *Agent) guest(id string) (*guest, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.guests[id]
	if !ok {
		return nil, notFound(id)
	}
	return g, nil
}

// Get returns a guest's status.
func (a *Agent) Get(id string) (Status, error) {
	g, err := a.guest(id)
	if err != nil {
		return Status{}, err
	}
	return g.status(), nil
}

// List returns every guest's status, by id.
func (a *Agent) List() []Status {
	a.mu.Lock()
	gs := make([]*guest, 0, len(a.guests))
	for _, g := range a.guests {
		gs = append(gs, g)
	}
	a.mu.Unlock()
	out := make([]Status, len(gs))
	for i, g := range gs {
		out[i] = g.status()
	}
	slices.SortFunc(out, func(x, y Status) int { return strings.Compare(x.ID, y.ID) })
	return out
}

// Stop stops a guest and waits until it has ended and everything it
// loaded has left the kernel; it stays listed, stopped, with its log.
func (a *Agent) Stop(ctx context.Context, id string) (Status, error) {
	g, err := a.guest(id)
	if err != nil {
		return Status{}, err
	}
	if err := g.stopWait(ctx); err != nil {
		return Status{}, err
	}
	return g.status(), nil
}

func (g *guest) stopWait(ctx context.Context) error {
	g.terminate()
	select {
	case <-g.done:
		return nil
	case <-ctx.Done():
		return &Error{http.StatusGatewayTimeout, fmt.Sprintf("guest %s did not end before the request did: %v", g.spec.ID, context.Cause(ctx))}
	}
}

// Remove stops a guest started through the API and forgets it. Guests of
// the guest file leave with their entry.
func (a *Agent) Remove(ctx context.Context, id string) error {
	g, err := a.guest(id)
	if err != nil {
		return err
	}
	if g.source == SourceFile {
		return conflict("guest %s is defined in the guest file %s: remove it there", id, a.cfg.File)
	}
	if err := g.stopWait(ctx); err != nil {
		return err
	}
	a.mu.Lock()
	if a.guests[id] == g {
		delete(a.guests, id)
	}
	a.mu.Unlock()
	return nil
}

// Pause holds a running guest: its Wasm code and its event delivery stop;
// its records wait in the kernel's buffers (up to their size).
func (a *Agent) Pause(id string) (Status, error) { return a.act(id, (*guest).pause) }

// Resume continues a paused guest.
func (a *Agent) Resume(id string) (Status, error) { return a.act(id, (*guest).resume) }

func (a *Agent) act(id string, f func(*guest) error) (Status, error) {
	g, err := a.guest(id)
	if err != nil {
		return Status{}, err
	}
	if err := f(g); err != nil {
		return Status{}, err
	}
	return g.status(), nil
}

// Restart stops a guest if it runs and starts it again with the same spec
// and log; its restart count starts over.
func (a *Agent) Restart(ctx context.Context, id string) (Status, error) {
	g, err := a.guest(id)
	if err != nil {
		return Status{}, err
	}
	if err := g.stopWait(ctx); err != nil {
		return Status{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return Status{}, errShuttingDown
	}
	if a.guests[id] != g {
		return Status{}, conflict("guest %s changed while it was restarted: try again", id)
	}
	g.say("restarting on request")
	ng, err := a.startLocked(g.spec, g.source, g.logs)
	if err != nil {
		return Status{}, err
	}
	return ng.status(), nil
}

// Ready reports whether the agent has applied its guest file once and
// is not shutting down.
func (a *Agent) Ready() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ready && !a.closed
}

// SetReady marks the agent ready (serve does once its guest file is
// applied and its listeners are up).
func (a *Agent) SetReady() {
	a.mu.Lock()
	a.ready = true
	a.mu.Unlock()
}

// Shutdown stops every guest and waits for them, up to ctx; starts are
// refused from now on. It then checks that the process holds no BPF
// program, map or link: an error says what stayed or which guests did not
// end.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.closed = true
	gs := make([]*guest, 0, len(a.guests))
	for _, g := range a.guests {
		gs = append(gs, g)
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.stopWait(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) == 0 {
		if fds, err := KernelFDs(); err != nil {
			errs = append(errs, err)
		} else if len(fds) > 0 {
			errs = append(errs, fmt.Errorf("every guest ended, but the agent still holds %s", strings.Join(fds, ", ")))
		}
	}
	return errors.Join(errs...)
}
