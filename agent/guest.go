package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/internal/logline"
	"github.com/wasm-bpf/wasm-bpf/oci"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

// State is where a guest is in its life.
type State string

const (
	StateStarting State = "starting" // its module is being read, pulled or compiled
	StateRunning  State = "running"
	StatePaused   State = "paused"
	StateBackoff  State = "backoff" // it ended and starts again at Status.NextRestart
	StateExited   State = "exited"  // it ended with exit code 0 and is not restarted
	StateFailed   State = "failed"  // it ended otherwise, or could not start, and is not restarted
	StateStopped  State = "stopped" // the API, the guest file or the agent's shutdown stopped it
)

// States lists every State, in the order of a guest's life.
var States = []State{StateStarting, StateRunning, StatePaused, StateBackoff, StateExited, StateFailed, StateStopped}

// active reports whether a guest in state s runs or will run again.
func (s State) active() bool {
	return s != StateExited && s != StateFailed && s != StateStopped
}

// Source says who started a guest, and so who may change it.
type Source string

const (
	SourceFile Source = "file" // the guest file: reconcile owns it
	SourceAPI  Source = "api"
)

// Status is what the API says about a guest.
type Status struct {
	ID     string `json:"id"`
	Source Source `json:"source"`
	State  State  `json:"state"`
	Spec   Spec   `json:"spec"`
	// Policy names the capability policy its objects are checked against.
	Policy string `json:"policy"`
	// Digest is the manifest digest of a registry guest's last start.
	Digest string `json:"digest,omitempty"`

	Restarts    int        `json:"restarts"`
	StartedAt   *time.Time `json:"startedAt,omitempty"` // of the current or last run
	EndedAt     *time.Time `json:"endedAt,omitempty"`   // of the last run
	NextRestart *time.Time `json:"nextRestart,omitempty"`
	// ExitCode is the last run's exit code (134 for a trap); absent
	// before a run ended.
	ExitCode *int `json:"exitCode,omitempty"`
	// LastError says why the last run ended or why it could not start.
	LastError string `json:"lastError,omitempty"`
}

// guest is one supervised guest: its spec, and the goroutine (run) that
// starts, waits for and restarts its instances.
type guest struct {
	a      *Agent
	spec   Spec
	source Source
	hash   string
	pol    *policy.Policy
	logs   *logBuffer
	out    [2]*lineWriter // stdout, stderr
	// notes writes the agent's and the host's lines about the guest, from
	// the agent's cfg.Level up, to the buffer's stream agent.
	notes *logline.Handler

	stop     chan struct{} // closed by Stop
	stopOnce sync.Once
	done     chan struct{} // closed when run returns: no instance is left

	mu          sync.Mutex
	state       State
	inst        *host.Instance
	paused      bool // asked to pause: applies to the current and next instances
	digest      string
	restarts    int
	startedAt   time.Time
	endedAt     time.Time
	nextRestart time.Time
	exitCode    *int
	lastErr     string
	ended       host.Stats // counters of ended instances, summed
}

func newGuest(a *Agent, spec Spec, source Source, pol *policy.Policy, logs *logBuffer) *guest {
	g := &guest{
		a: a, spec: spec, source: source, hash: spec.hash(), pol: pol, logs: logs,
		stop: make(chan struct{}), done: make(chan struct{}), state: StateStarting,
	}
	g.out = [2]*lineWriter{{b: logs, stream: StreamStdout}, {b: logs, stream: StreamStderr}}
	g.notes = logline.NewHandler(&lineWriter{b: logs, stream: StreamAgent}, a.cfg.Level)
	return g
}

func (g *guest) setState(s State) {
	g.mu.Lock()
	g.state = s
	g.mu.Unlock()
	g.logs.wake()
}

// run supervises the guest until it is stopped or ends for good.
func (g *guest) run() {
	defer close(g.done)
	cfg := g.a.cfg
	delay := cfg.BackoffInitial
	for {
		start := time.Now()
		code, err := g.runOnce()
		ran := time.Since(start)
		for _, w := range g.out {
			w.flush()
		}
		g.mu.Lock()
		g.endedAt = time.Now()
		g.exitCode = &code
		g.lastErr = ""
		if err != nil {
			g.lastErr = err.Error()
		}
		g.mu.Unlock()
		if g.stopped() {
			g.say("stopped")
			g.setState(StateStopped)
			return
		}
		failed := err != nil || code != 0
		switch {
		case err != nil:
			g.say("ended with exit code %d: %v", code, err)
		default:
			g.say("exited with code %d", code)
		}
		restart := g.spec.restart()
		if restart == RestartNever || restart == RestartOnFailure && !failed {
			if failed {
				g.setState(StateFailed)
			} else {
				g.setState(StateExited)
			}
			return
		}
		// A guest that ran longer than the longest delay starts over from
		// the shortest: it failed once, it does not keep failing.
		if ran > cfg.BackoffMax {
			delay = cfg.BackoffInitial
		}
		g.mu.Lock()
		g.state = StateBackoff
		g.nextRestart = time.Now().Add(delay)
		g.mu.Unlock()
		g.logs.wake()
		g.say("restarting in %v (restart policy %s)", delay, restart)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-g.stop:
			t.Stop()
			g.say("stopped")
			g.setState(StateStopped)
			return
		}
		delay = min(delay*2, cfg.BackoffMax)
		g.mu.Lock()
		g.restarts++
		g.nextRestart = time.Time{}
		g.mu.Unlock()
	}
}

func (g *guest) stopped() bool {
	select {
	case <-g.stop:
		return true
	default:
		return false
	}
}

// runOnce loads, starts and waits for one instance of the guest.
func (g *guest) runOnce() (int, error) {
	g.setState(StateStarting)
	// Stop cancels a pull in progress and the instance.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		select {
		case <-g.stop:
			cancel(host.ErrTerminated)
		case <-ctx.Done():
		}
	}()
	wasm, digest, err := g.load(ctx)
	if err != nil {
		return 1, fmt.Errorf("not started: %w", err)
	}
	cfg := g.spec.Config(g.pol)
	cfg.Stdout, cfg.Stderr, cfg.Logger = g.out[0], g.out[1], g.a.guestLogger(g)
	inst, err := g.a.cfg.Runtime.Start(ctx, wasm, cfg)
	if err != nil {
		return 1, fmt.Errorf("not started: %w", err)
	}
	g.mu.Lock()
	g.inst, g.digest, g.startedAt = inst, digest, time.Now()
	g.state = StateRunning
	if g.paused {
		inst.Pause()
		g.state = StatePaused
	}
	g.mu.Unlock()
	g.logs.wake()
	if digest != "" {
		g.say("started %s (%s)", g.spec.Module, digest)
	} else {
		g.say("started %s", g.spec.Module)
	}
	code, err := inst.Wait()
	g.mu.Lock()
	g.ended = addStats(g.ended, inst.Stats())
	g.inst = nil
	g.mu.Unlock()
	if errors.Is(err, host.ErrTerminated) && g.stopped() {
		err = nil // asked for: not the guest's failure
	}
	return code, err
}

// load reads or pulls the guest's module.
func (g *guest) load(ctx context.Context) (wasm []byte, digest string, err error) {
	opts := oci.LoadOptions{Policy: g.pol}
	if g.spec.Pull != "" {
		opts.Pull, _ = oci.ParsePullPolicy(g.spec.Pull) // checked by Spec.Check
	}
	if g.spec.VerifyKey != "" {
		pem, err := os.ReadFile(g.spec.VerifyKey)
		if err != nil {
			return nil, "", fmt.Errorf("verifyKey: %w", err)
		}
		if opts.VerifyKey, err = oci.LoadPublicKey(pem); err != nil {
			return nil, "", fmt.Errorf("verifyKey %s: %w", g.spec.VerifyKey, err)
		}
	}
	wasm, pulled, err := oci.LoadModule(ctx, g.a.cfg.Registry, g.spec.Module, opts)
	if err != nil {
		return nil, "", err
	}
	if pulled != nil {
		digest = pulled.Ref.DigestStr()
	}
	return wasm, digest, nil
}

// terminate asks the guest to stop for good; run then returns.
func (g *guest) terminate() {
	g.stopOnce.Do(func() { close(g.stop) })
	g.mu.Lock()
	if g.inst != nil {
		g.inst.Terminate()
	}
	g.mu.Unlock()
}

// pause and resume move a running guest to paused and back; asking for
// the state it is in does nothing.
func (g *guest) pause() error {
	return g.transition(StateRunning, StatePaused, "paused", func() { g.inst.Pause() })
}

func (g *guest) resume() error {
	return g.transition(StatePaused, StateRunning, "resumed", func() { g.inst.Resume() })
}

func (g *guest) transition(from, to State, verb string, act func()) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case from:
		act()
		g.state, g.paused = to, to == StatePaused
	case to:
		return nil
	default:
		return conflict("guest %s is %s: only a %s guest can be %s", g.spec.ID, g.state, from, verb)
	}
	g.logs.wake()
	return nil
}

func (g *guest) status() Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := Status{
		ID: g.spec.ID, Source: g.source, State: g.state, Spec: g.spec,
		Policy: g.pol.String(), Digest: g.digest, Restarts: g.restarts,
		ExitCode: g.exitCode, LastError: g.lastErr,
	}
	t := func(v time.Time) *time.Time {
		if v.IsZero() {
			return nil
		}
		return &v
	}
	st.StartedAt, st.EndedAt, st.NextRestart = t(g.startedAt), t(g.endedAt), t(g.nextRestart)
	return st
}

// stats are the guest's counters over all its runs, and what its current
// run holds now.
func (g *guest) stats() (host.Stats, State, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.ended
	s.Memory, s.Objects, s.Programs, s.Maps, s.Links, s.KernelMemory = 0, 0, 0, 0, 0, 0
	if g.inst != nil {
		s = addStats(s, g.inst.Stats())
	}
	return s, g.state, g.restarts
}

// addStats adds b's counters to a's and takes b's gauges.
func addStats(a, b host.Stats) host.Stats {
	a.Polls += b.Polls
	a.Records += b.Records
	a.PerfLost += b.PerfLost
	a.ProgramLost += b.ProgramLost
	a.CPUTime += b.CPUTime
	a.HostTime += b.HostTime
	a.Memory, a.Objects, a.Programs, a.Maps, a.Links, a.KernelMemory = b.Memory, b.Objects, b.Programs, b.Maps, b.Links, b.KernelMemory
	return a
}
