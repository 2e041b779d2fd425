// Package agenttest runs agents for tests: `wasm-bpf serve` as a process
// (Start), whose state it reads back through its API (agent.Client) and
// its metrics, or an agent in the test's process on a socket (Serve).
package agenttest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wasm-bpf/wasm-bpf/agent"
	"github.com/wasm-bpf/wasm-bpf/host"
)

// Agent is a running `wasm-bpf serve`.
type Agent struct {
	t      testing.TB
	Socket string
	*agent.Client
	cmd  *exec.Cmd
	out  *buffer
	done chan struct{}
	code int
}

type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Start runs `bin serve --socket DIR/agent.sock ARGS...` and waits until
// it is ready (/readyz), up to 2 minutes (the guests of a --config file
// compile first). The agent is killed at the end of the test if it still
// runs.
func Start(t testing.TB, bin string, args ...string) *Agent {
	t.Helper()
	dir, err := os.MkdirTemp("", "wbagent-") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	a := &Agent{t: t, Socket: filepath.Join(dir, "agent.sock"), out: &buffer{}, done: make(chan struct{})}
	a.Client = agent.NewClient(a.Socket)
	a.cmd = exec.Command(bin, append([]string{"serve", "--socket", a.Socket}, args...)...)
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		a.cmd.Wait()
		a.code = a.cmd.ProcessState.ExitCode()
		close(a.done)
	}()
	t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			a.cmd.Process.Kill()
			<-a.done
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-a.done:
			t.Fatalf("wasm-bpf serve exited with %d before it was ready:\n%s", a.code, a.out)
		default:
		}
		if a.ready() {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("wasm-bpf serve not ready after 2 minutes:\n%s", a.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (a *Agent) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return a.Ready(ctx) == nil
}

// Output is what the agent wrote to stdout and stderr so far.
func (a *Agent) Output() string { return a.out.String() }

// PID is the agent's process id.
func (a *Agent) PID() int { return a.cmd.Process.Pid }

// Signal sends sig to the agent.
func (a *Agent) Signal(sig syscall.Signal) {
	a.t.Helper()
	if err := a.cmd.Process.Signal(sig); err != nil {
		a.t.Fatal(err)
	}
}

// Wait waits for the agent to exit and returns its exit code.
func (a *Agent) Wait(timeout time.Duration) int {
	a.t.Helper()
	select {
	case <-a.done:
		return a.code
	case <-time.After(timeout):
		a.t.Fatalf("agent still runs %v later:\n%s", timeout, a.out)
	}
	return -1
}

// Ctx is a context for one API call.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// MetricFamilies reads the agent's metrics.
func (a *Agent) MetricFamilies() map[string]*dto {
	a.t.Helper()
	text, err := a.Metrics(Ctx(a.t))
	if err != nil {
		a.t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		a.t.Fatalf("metrics: %v\n%s", err, text)
	}
	out := map[string]*dto{}
	for name, f := range fams {
		d := &dto{}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			var v float64
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				v = m.GetUntyped().GetValue()
			}
			d.samples = append(d.samples, sample{labels, v})
		}
		out[name] = d
	}
	return out
}

type dto struct{ samples []sample }

type sample struct {
	labels map[string]string
	value  float64
}

// Metric is the value of the metric name whose labels include labels
// (given as name, value, ...); it fails the test if there is none.
func (a *Agent) Metric(name string, labels ...string) float64 {
	a.t.Helper()
	v, ok := a.metric(name, labels...)
	if !ok {
		a.t.Fatalf("no metric %s%v", name, labels)
	}
	return v
}

func (a *Agent) metric(name string, labels ...string) (float64, bool) {
	f, ok := a.MetricFamilies()[name]
	if !ok {
		return 0, false
	}
next:
	for _, s := range f.samples {
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

// WaitState waits up to timeout until guest id is in state.
func (a *Agent) WaitState(id string, state agent.State, timeout time.Duration) agent.Status {
	a.t.Helper()
	return a.WaitStatus(id, timeout, fmt.Sprintf("state %s", state), func(s agent.Status) bool { return s.State == state })
}

// WaitStatus waits up to timeout until guest id's status satisfies ok.
func (a *Agent) WaitStatus(id string, timeout time.Duration, what string, ok func(agent.Status) bool) agent.Status {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s, err := a.Client.Get(Ctx(a.t), id)
		if err == nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("guest %s: no %s within %v: last status %+v, %v\nlog:\n%s\nagent:\n%s", id, what, timeout, s, err, a.Log(id), a.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log is guest id's log as the agent holds it, one line per line.
func (a *Agent) Log(id string) string {
	var b strings.Builder
	err := a.Logs(Ctx(a.t), id, agent.LogOptions{}, func(l agent.LogLine) error {
		fmt.Fprintf(&b, "%s %s %s\n", l.Time.Format("15:04:05.000"), l.Stream, l.Text)
		return nil
	})
	if err != nil {
		fmt.Fprintf(&b, "(logs: %v)\n", err)
	}
	return b.String()
}

// Lines are guest id's log lines of stream.
func (a *Agent) Lines(id, stream string) []agent.LogLine {
	a.t.Helper()
	var out []agent.LogLine
	err := a.Logs(Ctx(a.t), id, agent.LogOptions{}, func(l agent.LogLine) error {
		if l.Stream == stream {
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return out
}

// WaitLine waits up to timeout for a line of guest id for which ok holds.
func (a *Agent) WaitLine(id string, timeout time.Duration, ok func(agent.LogLine) bool) agent.LogLine {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var found *agent.LogLine
		a.Logs(Ctx(a.t), id, agent.LogOptions{}, func(l agent.LogLine) error {
			if found == nil && ok(l) {
				found = &l
			}
			return nil
		})
		if found != nil {
			return *found
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("guest %s: no such line within %v; log:\n%s", id, timeout, a.Log(id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FDs counts the agent's open file descriptors.
func (a *Agent) FDs() int {
	a.t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", a.PID()))
	if err != nil {
		a.t.Fatal(err)
	}
	return len(ents)
}

// RSS is the agent's resident memory, in bytes.
func (a *Agent) RSS() uint64 {
	a.t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.PID()))
	if err != nil {
		a.t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	a.t.Fatal("no VmRSS")
	return 0
}

// Serve runs an agent in the test process with its API on a unix socket,
// on a runtime of its own if cfg has none, and shuts it down at the end of
// the test (failing it if the shutdown reports an error).
func Serve(t testing.TB, cfg agent.Config) (*agent.Agent, *agent.Client, string) {
	t.Helper()
	if cfg.Runtime == nil {
		rt, err := host.NewRuntime(host.RuntimeConfig{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rt.Close)
		cfg.Runtime = rt
	}
	a := agent.New(cfg)
	dir, err := os.MkdirTemp("", "wbagent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "agent.sock")
	l, err := agent.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.Handler("")}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("agent shutdown: %v", err)
		}
		srv.Close()
	})
	return a, agent.NewClient(sock), sock
}
