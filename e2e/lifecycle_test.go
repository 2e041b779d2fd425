package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

// The embedding API against the kernel: pause, resume and terminate reach a
// guest wherever it is, and guests of one runtime stay apart.

// stopBound is how long Pause, Resume and Terminate may take to show in
// these tests; the target is 100 ms, and each test logs what it measured.
// For a stop, that is until the runtime begins to close the guest's
// objects (timeStop).
const stopBound = time.Second

// timeStop stops an in-process guest with stop (its Terminate, or its
// context's cancel), waits up to 5 s for it to end, and checks the runtime
// began to close the guest's BPF objects within stopBound. That, not the
// guest's end, is the runtime's share of a stop: closing the objects then
// takes the kernel's time (detaching a link waits for RCU grace periods,
// up to seconds on a busy machine), and the leak checks see them gone.
func timeStop(t *testing.T, g *guest, what string, stop func()) {
	t.Helper()
	held := g.held()
	closing := watchClose(os.Getpid(), held)
	start := time.Now()
	stop()
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
		closing()
		g.fatalf("still running 5 s after %s", what)
	}
	closedAt, ok := closing()
	switch {
	case len(held.fds) == 0:
		closedAt = g.endedAt // it held nothing to close
	case !ok:
		g.fatalf("the guest ended after %s, but its objects are still open: %s", what, held)
	}
	t.Logf("%s: the runtime began to close the guest's objects after %v; it ended after %v",
		what, closedAt.Sub(start).Round(100*time.Microsecond), g.endedAt.Sub(start).Round(100*time.Microsecond))
	if d := closedAt.Sub(start); d > stopBound {
		g.errorf("the runtime began to close the guest's objects %v after %s, want within %v", d, what, stopBound)
	}
}

// startInstance starts a guest with rt.Start.
func startInstance(t *testing.T, rt *host.Runtime, wasmPath string, args ...string) (*guest, *host.Instance) {
	t.Helper()
	return startInstanceConfig(t, rt, host.Config{}, wasmPath, args...)
}

// startInstanceConfig starts a guest with rt.Start and the limits and
// logger of cfg.
func startInstanceConfig(t *testing.T, rt *host.Runtime, cfg host.Config, wasmPath string, args ...string) (*guest, *host.Instance) {
	t.Helper()
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	g := &guest{
		t:      t,
		desc:   "rt.Start " + strings.Join(append([]string{wasmPath}, args...), " "),
		stdout: newLineLog(),
		stderr: &lockedBuffer{},
		stdin:  stdinW,
		done:   make(chan struct{}),
		base:   heldBy(t, os.Getpid()),
	}
	g.start = time.Now()
	cfg.Args = append([]string{wasmPath}, args...)
	cfg.Stdin, cfg.Stdout, cfg.Stderr = stdinR, g.stdout, g.stderr
	inst, err := rt.Start(context.Background(), wasm, cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.cancel = inst.Terminate
	go func() {
		g.exitCode, g.err = inst.Wait()
		g.endedAt = time.Now()
		close(g.done)
		g.stdout.wake()
	}()
	t.Cleanup(func() {
		inst.Terminate()
		<-g.done
		stdinW.Close()
		stdinR.Close()
	})
	return g, inst
}

func lifecycleRuntime(t *testing.T) (*host.Runtime, string) {
	t.Helper()
	testenv.RequireBPF(t)
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt, guestWasm(t, "lifecycle", []string{"leak"})
}

// comms returns the comms of the "event" lines, in order.
func comms(g *guest, prefix string) []string {
	var out []string
	for _, ev := range parseEvents(g.stdout.snapshot()) {
		if strings.HasPrefix(ev.comm, prefix) {
			out = append(out, ev.comm)
		}
	}
	return out
}

// A paused guest delivers nothing; the records wait in the kernel's ring
// buffer and arrive, in order, after Resume.
func TestPauseHoldsRecordsInTheKernel(t *testing.T) {
	rt, wasm := lifecycleRuntime(t)
	id := runID()
	g, inst := startInstance(t, rt, wasm, "deliver", "wbp"+id+"stop")
	g.waitLine("ready", readyTimeout)
	sp := newSpawner(t)

	inst.Pause()
	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprintf("wbp%s%d", id, i))
		sp.run(names[i]) // one after another: the kernel sees them in this order
	}
	time.Sleep(300 * time.Millisecond)
	if got := comms(g, "wbp"+id); len(got) != 0 {
		g.fatalf("paused guest delivered %v", got)
	}
	resumed := time.Now()
	inst.Resume()
	g.waitFor("the 10 held records", eventTimeout, func([]line) int {
		if len(comms(g, "wbp"+id)) >= len(names) {
			return 0
		}
		return -1
	})
	t.Logf("held records delivered %v after Resume", time.Since(resumed).Round(time.Millisecond))
	if got := comms(g, "wbp"+id); strings.Join(got, " ") != strings.Join(names, " ") {
		g.fatalf("after Resume got %v, want %v in that order", got, names)
	}
	sp.run("wbp" + id + "stop")
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit %d (%v)", code, g.err)
	}
}

// Pause reaches a guest running Wasm inside a poll callback.
func TestPauseInsideCallback(t *testing.T) {
	rt, wasm := lifecycleRuntime(t)
	id := runID()
	g, inst := startInstance(t, rt, wasm, "slow", "wbs"+id)
	g.waitLine("ready", readyTimeout)
	newSpawner(t).run("wbs" + id)
	g.waitLine("begin wbs"+id, eventTimeout)
	inst.Pause()
	// Unpaused, the callback would print "end" 300 ms after "begin".
	time.Sleep(600 * time.Millisecond)
	for _, l := range g.stdout.snapshot() {
		if l.text == "end wbs"+id {
			g.fatalf("the callback ran on while paused")
		}
	}
	inst.Resume()
	g.waitLine("end wbs"+id, eventTimeout)
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit %d (%v)", code, g.err)
	}
}

// Terminate ends a guest in the middle of a callback that never returns;
// everything it loaded leaves the kernel.
func TestTerminateMidCallback(t *testing.T) {
	rt, wasm := lifecycleRuntime(t)
	id := runID()
	g, inst := startInstance(t, rt, wasm, "hang")
	g.waitLine("ready", readyTimeout)
	k := leakObjs(t, g)
	// The first exec after "ready" (anyone's, or this one) enters the
	// callback that never returns.
	newSpawner(t).run("wbh" + id)
	g.waitFor("a callback to begin", eventTimeout, func(ls []line) int {
		for i, l := range ls {
			if strings.HasPrefix(l.text, "begin ") {
				return i
			}
		}
		return -1
	})

	timeStop(t, g, "Terminate mid-callback", inst.Terminate)
	if _, err := inst.Wait(); !errors.Is(err, host.ErrTerminated) {
		g.fatalf("Wait: %v, want ErrTerminated", err)
	}
	assertGone(t, g, k)
}

// Terminate ends a guest blocked in a poll, and a paused one.
func TestTerminateInPollAndPaused(t *testing.T) {
	rt, wasm := lifecycleRuntime(t)
	for _, pauseFirst := range []bool{false, true} {
		g, inst := startInstance(t, rt, wasm, "deliver", "never-"+runID())
		g.waitLine("ready", readyTimeout)
		if pauseFirst {
			inst.Pause()
		}
		timeStop(t, g, fmt.Sprintf("Terminate (paused %v)", pauseFirst), inst.Terminate)
		if _, err := inst.Wait(); !errors.Is(err, host.ErrTerminated) {
			g.fatalf("Wait: %v, want ErrTerminated", err)
		}
	}
}

// The limits of Config: the load past MaxObjects returns 0, the attach
// past MaxLinks -EMFILE, and the log names the limit.
func TestObjectAndLinkLimits(t *testing.T) {
	rt, wasm := lifecycleRuntime(t)
	var log lockedBuffer
	g, _ := startInstanceConfig(t, rt, host.Config{
		MaxObjects: 2,
		MaxLinks:   1,
		Logger:     slog.New(slog.NewTextHandler(&log, nil)),
	}, wasm, "limits")
	g.waitLine("load3 0", readyTimeout)
	g.waitLine("attach 0 -24", readyTimeout)
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit %d (%v)", code, g.err)
	}
	for _, want := range []string{"max_objects=2", "max_links=1"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log does not name the limit %s:\n%s", want, log.String())
		}
	}
}

// Five guests of one runtime run at once, each gets every record, one
// guest's trap and another's termination leave the others running, and a
// map fd of one guest is refused to another.
func TestGuestsStayApart(t *testing.T) {
	rt, wasm := lifecycleRuntime(t)
	id := runID()
	stop := "wbg" + id + "stop"
	gs := make([]*guest, 5)
	insts := make([]*host.Instance, 5)
	for i := range gs {
		mode := "deliver"
		switch i {
		case 3:
			mode = "foreign"
		case 4:
			mode = "trap"
		}
		gs[i], insts[i] = startInstance(t, rt, wasm, mode, stop)
	}
	var fd0 string
	for i, g := range gs {
		g.waitLine("ready", readyTimeout)
		if i == 0 {
			for _, l := range g.stdout.snapshot() {
				if f, ok := strings.CutPrefix(l.text, "fd "); ok {
					fd0 = f
				}
			}
		}
	}
	// Guest 0's ring buffer fd is a valid fd of this process, but not one
	// of guest 3's maps.
	gs[3].sendLine(fd0)
	gs[3].waitLine("lookup -9", eventTimeout) // -EBADF
	gs[3].waitLine("poll -22", eventTimeout)  // -EINVAL

	sp := newSpawner(t)
	var wg sync.WaitGroup
	names := []string{"wbg" + id + "a", "wbg" + id + "b", "wbg" + id + "c"}
	for _, n := range names[:2] {
		sp.run(n)
	}
	// Guest 4 traps on its first record.
	if code := gs[4].waitExit(exitTimeout); code != host.ExitTrap {
		gs[4].fatalf("trapping guest: exit %d (%v), want %d", code, gs[4].err, host.ExitTrap)
	}
	for _, g := range gs[:4] {
		g.waitFor("both records", eventTimeout, func([]line) int {
			if len(comms(g, "wbg"+id)) >= 2 {
				return 0
			}
			return -1
		})
	}
	insts[1].Terminate()
	if _, err := insts[1].Wait(); !errors.Is(err, host.ErrTerminated) {
		gs[1].fatalf("Wait: %v", err)
	}
	sp.run(names[2])
	for i, g := range gs[:4] {
		if i == 1 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.waitFor("the record after guest 1 ended", eventTimeout, func([]line) int {
				if len(comms(g, "wbg"+id)) >= 3 {
					return 0
				}
				return -1
			})
		}()
	}
	wg.Wait()
	sp.run(stop)
	for i, g := range gs[:4] {
		if i == 1 {
			continue
		}
		if code := g.waitExit(exitTimeout); code != 0 {
			g.fatalf("exit %d (%v)", code, g.err)
		}
	}
}

// An object the guest closes from its own poll callback stays loaded until
// that poll returns, and counts toward MaxObjects and MaxLinks until then:
// loading and attaching it again from the callback is refused, and allowed
// once the poll has returned. (It stopped counting at once: guests held
// any number of objects under a limit of 1.)
func TestLimitsCountObjectsClosedInCallback(t *testing.T) {
	rt, wasm := lifecycleRuntime(t)
	obj, err := os.ReadFile(tc.BPFObjectT(t, filepath.Join("testdata", "leak.bpf.c")))
	if err != nil {
		t.Fatal(err)
	}
	a, err := policy.Analyze(obj)
	if err != nil {
		t.Fatal(err)
	}
	oneObject := uint64(a.MapMemory()) // room for one, not two
	for _, c := range []struct {
		name              string
		maxObjects, links int
		mapMemory         uint64
		want              []string
		limit             string
	}{
		{"max-objects", 1, 1, 0, []string{"inner load 0", "outer load 1", "outer attach 0"}, "max_objects=1"},
		{"max-links", 2, 1, 0, []string{"inner load 1", "inner attach -24", "outer load 1", "outer attach 0"}, "max_links=1"},
		// (It counted the open objects only: the closed one was forgotten
		// at once.)
		{"max-map-memory", 0, 0, oneObject, []string{"inner load 0", "outer load 1", "outer attach 0"}, "--max-map-memory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var log lockedBuffer
			g, _ := startInstanceConfig(t, rt, host.Config{
				MaxObjects:   c.maxObjects,
				MaxLinks:     c.links,
				MaxMapMemory: c.mapMemory,
				Logger:       slog.New(slog.NewTextHandler(&log, nil)),
			}, wasm, "reload")
			g.waitLine("ready", readyTimeout)
			newSpawner(t).run("wbr" + runID())
			if code := g.waitExit(exitTimeout); code != 0 {
				g.fatalf("exit %d (%v)", code, g.err)
			}
			var got []string
			for _, l := range g.stdout.snapshot() {
				if strings.HasPrefix(l.text, "inner ") || strings.HasPrefix(l.text, "outer ") {
					got = append(got, l.text)
				}
			}
			if strings.Join(got, "; ") != strings.Join(c.want, "; ") {
				g.fatalf("got %q, want %q", got, c.want)
			}
			if !strings.Contains(log.String(), c.limit) {
				t.Errorf("log does not name the limit %s:\n%s", c.limit, log.String())
			}
		})
	}
}

// A poll of a buffer from inside that buffer's own callback, classic or
// batched, returns -EBUSY while records are pending, and the outer poll
// goes on delivering them. (The nested classic poll cleared the outer
// poll's callback: its next record called a nil function and the host
// panicked.)
func TestNestedPollOfTheSameBuffer(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "lifecycle", []string{"leak"})
	id := runID()
	g := startCLI(t, nil, wasm, "nest", "wbn"+id+"z")
	g.waitLine("ready", readyTimeout)
	sp := newSpawner(t)
	for _, c := range "abc" {
		sp.run("wbn" + id + string(c))
	}
	g.sendLine("go")
	g.waitLine("nested batch -16", eventTimeout)
	sp.run("wbn" + id + "z")
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit %d, want 0", code)
	}
	if !slices.ContainsFunc(g.stdout.snapshot(), func(l line) bool { return l.text == "nested classic -16" }) {
		g.fatalf("the nested classic poll did not return -EBUSY")
	}
	if got := comms(g, "wbn"+id); strings.Join(got, " ") != "wbn"+id+"a wbn"+id+"b wbn"+id+"c wbn"+id+"z" {
		g.fatalf("events %v, want every exec in order", got)
	}
}
