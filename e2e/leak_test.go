package e2e

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// The kernel names leak.bpf.c gives its objects.
const (
	leakProg    = "wbleak_exec"
	leakRingBuf = "wbleak_rb"
	leakHash    = "wbleak_cnt"
)

// leakObjs returns the leak guest's objects in the kernel, and checks
// they are leak.bpf.c's: its program, its two maps, and the link of its
// program (libbpf makes a perf_event BPF link for a tracepoint attachment
// on kernels >= 5.15).
func leakObjs(t *testing.T, g *guest) bpfObjs {
	t.Helper()
	k := g.held()
	prog := named(k.progs, leakProg)
	if len(prog) != 1 || len(k.progs) != 1 {
		g.fatalf("the guest holds %s; want one program, %s", k, leakProg)
	}
	if len(named(k.maps, leakRingBuf)) != 1 || len(named(k.maps, leakHash)) != 1 || len(k.maps) != 2 {
		g.fatalf("the guest holds %s; want two maps, %s and %s", k, leakRingBuf, leakHash)
	}
	var linked []int
	for _, p := range k.links {
		linked = append(linked, p)
	}
	if len(linked) != 1 || linked[0] != prog[0] {
		g.fatalf("the guest holds %s; want one link, of prog %d", k, prog[0])
	}
	return k
}

// TestNothingLeaks: however the guest ends, everything it loaded leaves the
// kernel: program, maps, links.
func TestNothingLeaks(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "leak", []string{"leak"})
	sp := newSpawner(t)
	id := runID()

	cases := []struct {
		name     string
		mode     string   // the guest's argv[1]
		args     []string // and what follows
		inProc   bool     // run with host.Run instead of the CLI
		wantCode int      // exit code; -1: not checked (a cancelled host.Run, see cancelAndWait)
		end      func(t *testing.T, g *guest)
		check    func(t *testing.T, g *guest)
	}{
		{name: "main-returns", mode: "return", wantCode: 0,
			end: func(t *testing.T, g *guest) { g.sendLine("go") }},
		{name: "proc-exit-3", mode: "exit3", wantCode: 3,
			end: func(t *testing.T, g *guest) { g.sendLine("go") }},
		{name: "trap", mode: "trap", wantCode: 134,
			end:   func(t *testing.T, g *guest) { g.sendLine("go") },
			check: wantTrapMessage},
		{name: "trap-in-callback", mode: "cbtrap", args: []string{"wbl" + id + "cb"}, wantCode: 134,
			end: func(t *testing.T, g *guest) {
				// The record of this exec traps; exec until the guest ends.
				for i := 0; i < 40 && !g.ended(); i++ {
					sp.run("wbl" + id + "cb")
					select {
					case <-g.done:
					case <-time.After(50 * time.Millisecond):
					}
				}
			},
			check: func(t *testing.T, g *guest) {
				wantTrapMessage(t, g)
				if !hasLine(g, "trapping in callback") {
					g.errorf("the guest did not report entering its callback")
				}
			}},
		// The same through host.Run: proc_exit(n) is (n, nil); a trap is
		// 134 with an error carrying the trap message.
		{name: "inprocess-proc-exit-3", mode: "exit3", inProc: true, wantCode: 3,
			end: func(t *testing.T, g *guest) { g.sendLine("go") },
			check: func(t *testing.T, g *guest) {
				if g.err != nil {
					g.errorf("host.Run error %v, want nil after proc_exit(3)", g.err)
				}
			}},
		{name: "inprocess-trap", mode: "trap", inProc: true, wantCode: 134,
			end: func(t *testing.T, g *guest) { g.sendLine("go") },
			check: func(t *testing.T, g *guest) {
				if g.err == nil || !strings.Contains(g.err.Error(), "unreachable") {
					g.errorf("host.Run error %v, want the trap message (wasm `unreachable` executed)", g.err)
				}
			}},
		// Stopped from outside while blocked in a poll with a 60 s timeout
		// (in-process: the context is cancelled; CLI: a signal).
		{name: "context-cancelled-in-poll", mode: "block", inProc: true, wantCode: -1, end: cancelled},
		{name: "sigint-in-poll", mode: "block", wantCode: 130, end: signalled(syscall.SIGINT)},
		{name: "sigterm-in-poll", mode: "block", wantCode: 143, end: signalled(syscall.SIGTERM)},
		// The same while running wasm code that makes no host call.
		{name: "context-cancelled-in-wasm-loop", mode: "spin", inProc: true, wantCode: -1, end: cancelled},
		{name: "sigterm-in-wasm-loop", mode: "spin", wantCode: 143, end: signalled(syscall.SIGTERM)},
		// The same while blocked in WASI fd_read on stdin (nothing written).
		{name: "context-cancelled-in-stdin-read", mode: "return", inProc: true, wantCode: -1, end: cancelled},
		{name: "sigterm-in-stdin-read", mode: "return", wantCode: 143, end: signalled(syscall.SIGTERM)},
		// The same while sleeping in WASI poll_oneoff.
		{name: "context-cancelled-in-wasi-sleep", mode: "sleep", inProc: true, wantCode: -1, end: cancelled},
		{name: "sigint-in-wasi-sleep", mode: "sleep", wantCode: 130, end: signalled(syscall.SIGINT)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var g *guest
			if c.inProc {
				g = startInProcess(t, wasm, append([]string{c.mode}, c.args...)...)
			} else {
				g = startCLI(t, nil, wasm, append([]string{c.mode}, c.args...)...)
			}
			g.waitLine("ready", readyTimeout)
			k := leakObjs(t, g)
			t.Logf("while running: %s", k)

			c.end(t, g)
			code := g.waitExit(5 * time.Second)
			if c.wantCode >= 0 && code != c.wantCode {
				g.errorf("exit code %d, want %d", code, c.wantCode)
			}
			if c.check != nil {
				c.check(t, g)
			}
			assertGone(t, g, k)
		})
	}
}

func wantTrapMessage(t *testing.T, g *guest) {
	t.Helper()
	if msg := g.stderr.String(); !strings.Contains(msg, "unreachable") {
		g.errorf("stderr does not carry the trap message (wasm `unreachable` executed)")
	}
}

// cancelled ends an in-process guest by cancelling its context once it had
// time to block.
func cancelled(t *testing.T, g *guest) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	cancelAndWait(t, g)
}

// signalled ends a CLI guest with sig once it had time to block.
func signalled(sig syscall.Signal) func(t *testing.T, g *guest) {
	return func(t *testing.T, g *guest) {
		t.Helper()
		time.Sleep(300 * time.Millisecond)
		g.signal(sig)
	}
}

// cancelAndWait cancels an in-process guest's context and checks host.Run
// returns, promptly (timeStop), with an error that wraps context.Canceled.
func cancelAndWait(t *testing.T, g *guest) {
	t.Helper()
	timeStop(t, g, "the cancel", g.cancel)
	if !errors.Is(g.err, context.Canceled) {
		g.errorf("host.Run error %v (exit %d), want one that wraps context.Canceled", g.err, g.exitCode)
	}
}
