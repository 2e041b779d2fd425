package e2e

import (
	"context"
	"errors"
	"fmt"
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

// kernelObjs are the ids of the leak guest's objects in the kernel.
type kernelObjs struct {
	prog  int
	maps  []int
	links []int
}

func (k kernelObjs) String() string {
	return fmt.Sprintf("prog %d, maps %v, links %v", k.prog, k.maps, k.links)
}

func ids(objs []bpfObj) map[int]bool {
	m := make(map[int]bool, len(objs))
	for _, o := range objs {
		m[o.ID] = true
	}
	return m
}

// findLeakObjs returns the leak guest's objects that are not in the
// baseline: exactly one program and one map of each name.
func findLeakObjs(t *testing.T, g *guest, baseProgs, baseMaps map[int]bool) kernelObjs {
	t.Helper()
	var k kernelObjs
	var progs []int
	for _, p := range kernelObjects(t, "prog") {
		if p.Name == leakProg && !baseProgs[p.ID] {
			progs = append(progs, p.ID)
		}
	}
	if len(progs) != 1 {
		g.fatalf("want one new BPF program named %s while the guest runs, found ids %v", leakProg, progs)
	}
	k.prog = progs[0]
	for _, name := range []string{leakRingBuf, leakHash} {
		var found []int
		for _, m := range kernelObjects(t, "map") {
			if m.Name == name && !baseMaps[m.ID] {
				found = append(found, m.ID)
			}
		}
		if len(found) != 1 {
			g.fatalf("want one new BPF map named %s while the guest runs, found ids %v", name, found)
		}
		k.maps = append(k.maps, found[0])
	}
	for _, l := range kernelObjects(t, "link") {
		if l.ProgID == k.prog {
			k.links = append(k.links, l.ID)
		}
	}
	// libbpf makes a perf_event BPF link for a tracepoint attachment on
	// kernels >= 5.15.
	if len(k.links) != 1 {
		g.errorf("want 1 BPF link of prog %d, found %v", k.prog, k.links)
	}
	return k
}

// leftovers returns which of k are still in the kernel.
func leftovers(t *testing.T, k kernelObjs) []string {
	var left []string
	progs, maps := ids(kernelObjects(t, "prog")), ids(kernelObjects(t, "map"))
	if progs[k.prog] {
		left = append(left, fmt.Sprintf("prog %d (%s)", k.prog, leakProg))
	}
	for _, m := range k.maps {
		if maps[m] {
			left = append(left, fmt.Sprintf("map %d", m))
		}
	}
	for _, l := range kernelObjects(t, "link") {
		if l.ProgID == k.prog {
			left = append(left, fmt.Sprintf("link %d (type %s) of prog %d", l.ID, l.Type, k.prog))
		}
	}
	return left
}

// assertGone waits (the kernel frees objects asynchronously) up to 3 s for
// every object of k to leave the kernel.
func assertGone(t *testing.T, g *guest, k kernelObjs) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := leftovers(t, k)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			g.fatalf("3 s after the guest ended these are still in the kernel: %s", strings.Join(left, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
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
		mode     string // the guest's argv[1]
		inProc   bool   // run with host.Run instead of the CLI
		wantCode int    // exit code; -1: not checked (a cancelled host.Run, see cancelAndWait)
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
		{name: "trap-in-callback", mode: "cbtrap", wantCode: 134,
			end: func(t *testing.T, g *guest) {
				// Any exec makes a record; exec until the guest ends.
				g.sendLine("go")
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
			baseProgs, baseMaps := ids(kernelObjects(t, "prog")), ids(kernelObjects(t, "map"))
			var g *guest
			if c.inProc {
				g = startInProcess(t, wasm, c.mode)
			} else {
				g = startCLI(t, nil, wasm, c.mode)
			}
			g.waitLine("ready", readyTimeout)
			k := findLeakObjs(t, g, baseProgs, baseMaps)
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
// returns within 1 s with an error that wraps context.Canceled.
func cancelAndWait(t *testing.T, g *guest) {
	t.Helper()
	cancelled := time.Now()
	g.cancel()
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
		g.fatalf("host.Run still running 5 s after its context was cancelled")
	}
	if d := g.endedAt.Sub(cancelled); d > time.Second {
		g.errorf("host.Run returned %v after the cancel, want within 1 s", d)
	} else {
		t.Logf("host.Run returned %v after the cancel", d.Round(time.Millisecond))
	}
	if !errors.Is(g.err, context.Canceled) {
		g.errorf("host.Run error %v (exit %d), want one that wraps context.Canceled", g.err, g.exitCode)
	}
}
