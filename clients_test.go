package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/agent"
	"github.com/wasm-bpf/wasm-bpf/internal/agenttest"
)

// chattyWat prints "tick" and sleeps 50 ms (poll_oneoff), forever.
const chattyWat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "tick\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 5))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.const 50000000))
    (loop $forever
      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (drop (call $poll (i32.const 64) (i32.const 256) (i32.const 1) (i32.const 512)))
      (br $forever))))`

// The CLI's clients of the agent, against an agent on a socket: start
// (relative paths made absolute), ps, pause, resume, logs, stop, restart
// and rm, and what they say when something is wrong.
func TestAgentClients(t *testing.T) {
	a, _, sock := agenttest.Serve(t, agent.Config{})
	dir := t.TempDir()
	writeWat(t, dir, "chatty.wasm", chattyWat)
	t.Chdir(dir)
	wb := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(append([]string{"wasm-bpf"}, args...), strings.NewReader(""), &out, &errOut)
		if code != want {
			t.Fatalf("wasm-bpf %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	s := "--socket=" + sock
	if out := wb(0, "start", s, "--restart", "on-failure", "chatty.wasm", "x"); out != "chatty starting\n" {
		t.Errorf("start: %q", out)
	}
	st, err := a.Get("chatty")
	if err != nil || st.Spec.Module != filepath.Join(dir, "chatty.wasm") || st.Spec.Restart != agent.RestartOnFailure {
		t.Fatalf("started %+v, %v", st, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(wb(0, "logs", s, "chatty"), "tick") {
		if time.Now().After(deadline) {
			t.Fatal("no output")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out := wb(0, "ps", s); !regexp.MustCompile(`(?m)^chatty\s+running\s+0\s+-\s+\S+ ago\s+api\s+` + regexp.QuoteMeta(st.Spec.Module) + `$`).MatchString(out) {
		t.Errorf("ps:\n%s", out)
	}
	if out := wb(0, "pause", s, "chatty"); out != "chatty paused\n" {
		t.Errorf("pause: %q", out)
	}
	if out := wb(0, "resume", s, "chatty"); out != "chatty running\n" {
		t.Errorf("resume: %q", out)
	}
	if out := wb(0, "restart", s, "chatty"); out != "chatty starting\n" {
		t.Errorf("restart: %q", out)
	}
	if out := wb(0, "stop", s, "chatty"); out != "chatty stopped\n" {
		t.Errorf("stop: %q", out)
	}
	if out := wb(0, "logs", s, "chatty"); !strings.Contains(out, "tick\n") || !strings.Contains(out, "wasm-bpf: restarting on request\n") || !strings.HasSuffix(out, "wasm-bpf: stopped\n") {
		t.Errorf("logs:\n%s", out)
	}
	// Refusals: the agent's message, exit 1.
	if out := wb(1, "pause", s, "chatty"); !strings.Contains(out, "guest chatty is stopped: only a running guest can be paused") {
		t.Errorf("pause a stopped guest: %q", out)
	}
	if out := wb(1, "stop", s, "nope"); !strings.Contains(out, `no guest "nope" (wasm-bpf ps lists the guests)`) {
		t.Errorf("stop an unknown guest: %q", out)
	}
	if out := wb(1, "ps", "--socket", filepath.Join(dir, "none.sock")); !strings.Contains(out, "no agent listens on") {
		t.Errorf("no agent: %q", out)
	}
	if out := wb(0, "rm", s, "chatty"); out != "chatty removed\n" {
		t.Errorf("rm: %q", out)
	}
	if out := wb(0, "ps", s); strings.Contains(out, "chatty") {
		t.Errorf("ps after rm:\n%s", out)
	}
}
