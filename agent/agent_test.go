package agent_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/agent"
	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/internal/agenttest"
)

// sleeperWat prints "up" and sleeps an hour in WASI (poll_oneoff on a
// clock), then exits 0: a guest that runs until it is stopped.
const sleeperWat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "up\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    ;; subscription at 64: userdata 0, tag 0 (clock), id 1 (monotonic), timeout 3600 s
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.const 3600000000000))
    (drop (call $poll (i32.const 64) (i32.const 256) (i32.const 1) (i32.const 512)))))`

// exitWat prints "run" and exits with the code in its first argument's
// first byte minus '0'.
const exitWat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $aget (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "run\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 4))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $aget (i32.const 1024) (i32.const 2048)))
    (call $exit (i32.sub (i32.load8_u (i32.load (i32.const 1028))) (i32.const 48)))))`

// trapWat traps at once.
const trapWat = `(module (memory (export "memory") 1) (func (export "_start") unreachable))`

func writeWat(t *testing.T, name, src string) string {
	t.Helper()
	wasm, err := wasmtime.Wat2Wasm(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveAgent runs an agent in the test and its API on a unix socket.
func serveAgent(t *testing.T, cfg agent.Config) (*agent.Agent, *agent.Client) {
	t.Helper()
	a, c, sock := agenttest.Serve(t, cfg)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	return a, c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func waitStatus(t *testing.T, c *agent.Client, id string, what string, ok func(agent.Status) bool) agent.Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := c.Get(ctx(t), id)
		if err == nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s: %+v, %v", id, what, s, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The restart policies: never, on-failure and always, with backoff that
// doubles up to its cap.
func TestRestartPolicies(t *testing.T) {
	_, c := serveAgent(t, agent.Config{BackoffInitial: 20 * time.Millisecond, BackoffMax: 80 * time.Millisecond})
	exit := writeWat(t, "exit.wasm", exitWat)
	trap := writeWat(t, "trap.wasm", trapWat)
	start := func(id, module, arg string, r agent.RestartPolicy) {
		t.Helper()
		if _, err := c.Start(ctx(t), agent.Spec{ID: id, Module: module, Args: []string{arg}, Restart: r}); err != nil {
			t.Fatal(err)
		}
	}
	start("never-fail", exit, "1", agent.RestartNever)
	start("onfail-ok", exit, "0", agent.RestartOnFailure)
	start("onfail-fail", exit, "3", agent.RestartOnFailure)
	start("always-ok", exit, "0", agent.RestartAlways)
	start("always-trap", trap, "", agent.RestartAlways)

	s := waitStatus(t, c, "never-fail", "failed", func(s agent.Status) bool { return s.State == agent.StateFailed })
	if *s.ExitCode != 1 || s.Restarts != 0 {
		t.Errorf("never-fail: %+v", s)
	}
	s = waitStatus(t, c, "onfail-ok", "exited", func(s agent.Status) bool { return s.State == agent.StateExited })
	if *s.ExitCode != 0 || s.Restarts != 0 {
		t.Errorf("onfail-ok: %+v", s)
	}
	for _, id := range []string{"onfail-fail", "always-ok", "always-trap"} {
		waitStatus(t, c, id, "5 restarts", func(s agent.Status) bool { return s.Restarts >= 5 })
	}
	s, _ = c.Get(ctx(t), "always-trap")
	if *s.ExitCode != host.ExitTrap || !strings.Contains(s.LastError, "unreachable") {
		t.Errorf("always-trap: %+v", s)
	}
	// The trap's message of several lines (its backtrace) is written as
	// run prints it: each line a line of the buffer, the first after
	// "wasm-bpf: ", the others indented.
	var trapLines []string
	c.Logs(ctx(t), "always-trap", agent.LogOptions{}, func(l agent.LogLine) error {
		if l.Stream == agent.StreamAgent {
			trapLines = append(trapLines, l.Text)
		}
		return nil
	})
	if i := slices.IndexFunc(trapLines, func(l string) bool { return strings.HasPrefix(l, "wasm-bpf: ended with exit code 134: ") }); i < 0 ||
		i+1 == len(trapLines) || !strings.HasPrefix(trapLines[i+1], "    ") || slices.ContainsFunc(trapLines, func(l string) bool { return strings.Contains(l, "\n") }) {
		t.Errorf("always-trap: the agent's lines\n%s\nwant the trap's message over lines, the first after \"wasm-bpf: \", the others indented", strings.Join(trapLines, "\n"))
	}
	// The delays: 20, 40, 80, 80 ms; the log has the restarts' times.
	var ends, starts []time.Time
	c.Logs(ctx(t), "onfail-fail", agent.LogOptions{}, func(l agent.LogLine) error {
		switch {
		case strings.HasPrefix(l.Text, "wasm-bpf: exited with code 3"):
			ends = append(ends, l.Time)
		case strings.HasPrefix(l.Text, "wasm-bpf: started "):
			starts = append(starts, l.Time)
		}
		return nil
	})
	for k, want := range []time.Duration{20, 40, 80, 80} {
		want *= time.Millisecond
		if gap := starts[k+1].Sub(ends[k]); gap < want {
			t.Errorf("restart %d after %v, want at least %v", k+1, gap, want)
		}
	}
	// Stopped in its backoff, a guest stays stopped.
	if s, err := c.Stop(ctx(t), "onfail-fail"); err != nil || s.State != agent.StateStopped {
		t.Errorf("stop: %+v, %v", s, err)
	}
	time.Sleep(200 * time.Millisecond)
	if s, _ := c.Get(ctx(t), "onfail-fail"); s.State != agent.StateStopped {
		t.Errorf("after stop: %s", s.State)
	}
}

// The API refuses what it cannot do with a status and a message that says
// what to do; pause, resume, logs and stop work on a running guest.
func TestAPI(t *testing.T) {
	a, c := serveAgent(t, agent.Config{File: "/etc/wasm-bpf/agent.yaml"})
	sleeper := writeWat(t, "sleeper.wasm", sleeperWat)
	if _, err := c.Start(ctx(t), agent.Spec{ID: "s1", Module: sleeper}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "s1", "running", func(s agent.Status) bool { return s.State == agent.StateRunning })

	refusals := []struct {
		name   string
		call   func() error
		status int
		msg    string
	}{
		{"same id", func() error { _, err := c.Start(ctx(t), agent.Spec{ID: "s1", Module: sleeper}); return err }, 409, "stop it first"},
		{"bad id", func() error { _, err := c.Start(ctx(t), agent.Spec{ID: "S 1", Module: sleeper}); return err }, 400, "guest id"},
		{"relative", func() error { _, err := c.Start(ctx(t), agent.Spec{ID: "r", Module: "x.wasm"}); return err }, 400, "give an absolute path"},
		{"restart", func() error {
			_, err := c.Start(ctx(t), agent.Spec{ID: "r", Module: sleeper, Restart: "sometimes"})
			return err
		}, 400, "want never, on-failure or always"},
		{"grant", func() error {
			_, err := c.Start(ctx(t), agent.Spec{ID: "r", Module: sleeper, Allow: []string{"everything"}})
			return err
		}, 400, "unknown capability"},
		{"unknown", func() error { _, err := c.Get(ctx(t), "nope"); return err }, 404, "wasm-bpf ps lists the guests"},
	}
	for _, r := range refusals {
		err := r.call()
		var e *agent.Error
		if !errors.As(err, &e) || e.Status != r.status || !strings.Contains(e.Msg, r.msg) {
			t.Errorf("%s: %v; want %d and %q", r.name, err, r.status, r.msg)
		}
	}
	// A body with an unknown field is refused, not half read.
	rec := httptest.NewRecorder()
	req, _ := http.NewRequest("POST", "/v1/guests", strings.NewReader(`{"id":"u","module":"`+sleeper+`","modul":"x"}`))
	a.Handler("").ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `unknown field \"modul\"`) {
		t.Errorf("unknown field: %d %s", rec.Code, rec.Body.String())
	}

	if s, err := c.Pause(ctx(t), "s1"); err != nil || s.State != agent.StatePaused {
		t.Fatalf("pause: %+v, %v", s, err)
	}
	if s, err := c.Resume(ctx(t), "s1"); err != nil || s.State != agent.StateRunning {
		t.Fatalf("resume: %+v, %v", s, err)
	}
	// Follow ends when the guest is stopped, after the last lines.
	got := make(chan []string)
	go func() {
		var lines []string
		c.Logs(ctx(t), "s1", agent.LogOptions{Follow: true}, func(l agent.LogLine) error {
			lines = append(lines, l.Stream+" "+l.Text)
			return nil
		})
		got <- lines
	}()
	time.Sleep(100 * time.Millisecond)
	if _, err := c.Stop(ctx(t), "s1"); err != nil {
		t.Fatal(err)
	}
	select {
	case lines := <-got:
		want := []string{"stdout up", "agent wasm-bpf: stopped"}
		if len(lines) < 2 || lines[1] != want[0] || lines[len(lines)-1] != want[1] {
			t.Errorf("followed lines %q; want the output then %q", lines, want[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not end when the guest stopped")
	}
	if _, err := c.Pause(ctx(t), "s1"); err == nil || !strings.Contains(err.Error(), "only a running guest") {
		t.Errorf("pause a stopped guest: %v", err)
	}
	// A stopped API guest's id may be used again; Remove forgets it.
	if _, err := c.Start(ctx(t), agent.Spec{ID: "s1", Module: sleeper}); err != nil {
		t.Errorf("start again: %v", err)
	}
	if err := c.Remove(ctx(t), "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx(t), "s1"); err == nil {
		t.Error("removed guest still listed")
	}
}

// Over TCP every endpoint but the health checks wants the bearer token.
func TestToken(t *testing.T) {
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	a := agent.New(agent.Config{Runtime: rt})
	a.SetReady()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.Handler("s3cret")}
	go srv.Serve(l)
	defer srv.Close()
	base := "http://" + l.Addr().String()
	if _, err := agent.NewTCPClient(base, "wrong").List(ctx(t)); err == nil || !strings.Contains(err.Error(), "bearer token") {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := agent.NewTCPClient(base, "s3cret").List(ctx(t)); err != nil {
		t.Errorf("right token: %v", err)
	}
	if err := agent.NewTCPClient(base, "").Ready(ctx(t)); err != nil {
		t.Errorf("readyz without a token: %v", err)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("metrics without a token: %v, %v", resp.StatusCode, err)
	}
}

// The guest file: strict, relative paths from its directory, unique ids.
func TestParseFile(t *testing.T) {
	tests := []struct {
		name, file, err string
	}{
		{"ok", "guests:\n- id: a\n  module: a.wasm\n  limits: {maxMemory: 64MiB, cpuLimit: 10s, maxMapMemory: 0}\n", ""},
		{"unknown key", "guests:\n- id: a\n  modul: a.wasm\n", `unknown field "modul"`},
		{"unknown limit", "guests:\n- id: a\n  module: a.wasm\n  limits: {maxMem: 1}\n", `unknown field "maxMem"`},
		{"duplicate", "guests:\n- id: a\n  module: a.wasm\n- id: a\n  module: b.wasm\n", `a second guest with id "a"`},
		{"no module", "guests:\n- id: a\n", "no module"},
		{"bad size", "guests:\n- id: a\n  module: a.wasm\n  limits: {maxMemory: 1.5MiB}\n", "want a number"},
		{"bad env", "guests:\n- id: a\n  module: a.wasm\n  env: [X]\n", "want KEY=VALUE"},
		{"bad pull", "guests:\n- id: a\n  module: a.wasm\n  pull: sometimes\n", "pull policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, err := agent.ParseFile([]byte(tt.file), "/etc/wasm-bpf")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := specs[0]
			if s.Module != "/etc/wasm-bpf/a.wasm" || *s.Limits.MaxMemory != 64<<20 || time.Duration(s.Limits.CPULimit) != 10*time.Second || *s.Limits.MaxMapMemory != 0 {
				t.Errorf("spec %+v", s)
			}
		})
	}
	// A registry reference stays as it is.
	specs, err := agent.ParseFile([]byte("guests:\n- id: r\n  module: ghcr.io/acme/tool:1.0\n"), "/x")
	if err != nil || specs[0].Module != "ghcr.io/acme/tool:1.0" {
		t.Errorf("reference: %+v, %v", specs, err)
	}
}

// Apply: add, change, remove; unchanged guests untouched; API guests
// refused ids.
func TestApply(t *testing.T) {
	a, c := serveAgent(t, agent.Config{})
	sleeper := writeWat(t, "sleeper.wasm", sleeperWat)
	spec := func(id string, args ...string) agent.Spec {
		return agent.Spec{ID: id, Module: sleeper, Args: args}
	}
	running := func(id string) agent.Status {
		return waitStatus(t, c, id, "running", func(s agent.Status) bool { return s.State == agent.StateRunning })
	}
	if err := a.Apply(ctx(t), []agent.Spec{spec("a"), spec("b")}); err != nil {
		t.Fatal(err)
	}
	running("a")
	b0 := running("b")
	if _, err := c.Start(ctx(t), spec("api")); err != nil {
		t.Fatal(err)
	}
	running("api")
	err := a.Apply(ctx(t), []agent.Spec{spec("b", "x"), spec("c"), spec("api")})
	if err == nil || !strings.Contains(err.Error(), "started through the API") {
		t.Errorf("a file entry with an API guest's id: %v", err)
	}
	b1, _ := running("b"), running("c")
	if b1.StartedAt.Equal(*b0.StartedAt) || len(b1.Spec.Args) != 1 {
		t.Errorf("changed b not restarted: %+v", b1)
	}
	if _, err := c.Get(ctx(t), "a"); err == nil {
		t.Errorf("removed a still listed")
	}
	if err := a.Apply(ctx(t), []agent.Spec{spec("b", "x"), spec("c")}); err != nil {
		t.Fatal(err)
	}
	if b2 := running("b"); !b2.StartedAt.Equal(*b1.StartedAt) {
		t.Errorf("unchanged b restarted")
	}
	if err := c.Remove(ctx(t), "b"); err == nil || !strings.Contains(err.Error(), "remove it there") {
		t.Errorf("remove a file guest: %v", err)
	}
}
