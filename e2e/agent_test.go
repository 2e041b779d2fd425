package e2e

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wasm-bpf/wasm-bpf/agent"
	"github.com/wasm-bpf/wasm-bpf/internal/agenttest"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// The agent tests' guest, testdata/agent.c with agent.bpf.c, whose kernel
// objects are named wbagt_*.
const agentMagic = 0x7e57a9e1 // getpgid(agentMagic) fires wbagt_flood

func agentWasm(t *testing.T) string { return guestWasm(t, "agent", []string{"agent"}) }

func startAgent(t *testing.T, args ...string) *agenttest.Agent {
	testenv.RequireBPF(t)
	return agenttest.Start(t, tc.CLIT(t), args...)
}

func apiStart(t *testing.T, a *agenttest.Agent, spec agent.Spec) agent.Status {
	t.Helper()
	st, err := a.Start(agenttest.Ctx(t), spec)
	if err != nil {
		t.Fatalf("start %s: %v", spec.ID, err)
	}
	return st
}

// flood fires wbagt_flood n times, from CPU 0: a perf buffer reports
// what it lost on a CPU with the next record on that CPU.
func flood(t *testing.T, n int) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu0 unix.CPUSet
	cpu0.Set(0)
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.SchedSetaffinity(0, &cpu0); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &old)
	for range n {
		syscall.Syscall(syscall.SYS_GETPGID, agentMagic, 0, 0)
	}
}

// agentLines are the lines the agent wrote about a guest that match re,
// with their times.
func agentLines(t *testing.T, a *agenttest.Agent, id string, re *regexp.Regexp) []agent.LogLine {
	var out []agent.LogLine
	for _, l := range a.Lines(id, agent.StreamAgent) {
		if re.MatchString(l.Text) {
			out = append(out, l)
		}
	}
	return out
}

// A guest that exits with 1 restarts with exponential backoff under
// on-failure; one that traps restarts under always and its restarts are
// counted; one that exits with 1 under never is failed. A guest beside
// them runs on, untouched.
func TestAgentRestarts(t *testing.T) {
	wasm := agentWasm(t)
	a := startAgent(t, "--restart-backoff", "200ms", "--restart-backoff-max", "2s")
	id := runID()
	bystander := apiStart(t, a, agent.Spec{ID: "wbagt-idle-" + id, Module: wasm, Args: []string{"idle"}})
	a.WaitState(bystander.ID, agent.StateRunning, readyTimeout)
	before, _ := a.Get(agenttest.Ctx(t), bystander.ID)

	exit1 := apiStart(t, a, agent.Spec{ID: "wbagt-exit1-" + id, Module: wasm, Args: []string{"exit1"}, Restart: agent.RestartOnFailure})
	trap := apiStart(t, a, agent.Spec{ID: "wbagt-trap-" + id, Module: wasm, Args: []string{"trap"}, Restart: agent.RestartAlways})
	never := apiStart(t, a, agent.Spec{ID: "wbagt-never-" + id, Module: wasm, Args: []string{"exit1"}})

	s := a.WaitStatus(exit1.ID, 30*time.Second, "3 restarts", func(s agent.Status) bool { return s.Restarts >= 3 })
	if s.ExitCode == nil || *s.ExitCode != 1 {
		t.Errorf("%s: exit code %v, want 1", exit1.ID, s.ExitCode)
	}
	// The delay before restart k is 200ms * 2^k (up to 2 s): each gap
	// between an end and the next start is at least that.
	ends := agentLines(t, a, exit1.ID, regexp.MustCompile(`^wasm-bpf: exited with code 1`))
	starts := agentLines(t, a, exit1.ID, regexp.MustCompile(`^wasm-bpf: started `))
	if len(ends) < 3 || len(starts) < 4 {
		t.Fatalf("%s: %d ends and %d starts logged; log:\n%s", exit1.ID, len(ends), len(starts), a.Log(exit1.ID))
	}
	for k := range 3 {
		gap := starts[k+1].Time.Sub(ends[k].Time)
		want := 200 * time.Millisecond << k
		if gap < want || gap > want+5*time.Second {
			t.Errorf("%s: restart %d came %v after the end, want at least %v (and not much more); log:\n%s", exit1.ID, k+1, gap, want, a.Log(exit1.ID))
		}
	}

	s = a.WaitStatus(trap.ID, 30*time.Second, "2 restarts", func(s agent.Status) bool { return s.Restarts >= 2 })
	if s.ExitCode == nil || *s.ExitCode != 134 || !strings.Contains(s.LastError, "unreachable") {
		t.Errorf("%s: exit code %v, last error %q; want 134 and a trap (unreachable)", trap.ID, s.ExitCode, s.LastError)
	}
	if n := a.Metric("wasm_bpf_guest_restarts_total", "guest", trap.ID); n < 2 {
		t.Errorf("wasm_bpf_guest_restarts_total{guest=%q} = %v, want >= 2", trap.ID, n)
	}

	s = a.WaitState(never.ID, agent.StateFailed, 30*time.Second)
	if s.Restarts != 0 || s.ExitCode == nil || *s.ExitCode != 1 {
		t.Errorf("%s: %+v; want failed with exit code 1, never restarted", never.ID, s)
	}

	after, _ := a.Get(agenttest.Ctx(t), bystander.ID)
	if after.State != agent.StateRunning || after.Restarts != 0 || !after.StartedAt.Equal(*before.StartedAt) {
		t.Errorf("the bystander was touched: before %+v, after %+v", before, after)
	}
	// A guest stopped in its backoff stays stopped.
	if _, err := a.Stop(agenttest.Ctx(t), exit1.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if s, _ := a.Get(agenttest.Ctx(t), exit1.ID); s.State != agent.StateStopped {
		t.Errorf("%s after stop: %s, want stopped", exit1.ID, s.State)
	}
}

// Records the kernel dropped count as lost: a paused guest's perf buffer
// overflows (the kernel reports what it dropped), and its ring buffer too
// (its program counts what it could not reserve in wasm_bpf_records_lost).
// Delivered and lost add up to what the program sent.
func TestAgentLostRecords(t *testing.T) {
	wasm := agentWasm(t)
	a := startAgent(t)
	id := "wbagt-flood-" + runID()
	apiStart(t, a, agent.Spec{ID: id, Module: wasm, Args: []string{"flood"}})
	a.WaitLine(id, readyTimeout, func(l agent.LogLine) bool { return l.Text == "ready" })
	if _, err := a.Pause(agenttest.Ctx(t), id); err != nil {
		t.Fatal(err)
	}
	// 4000-byte records: 64 pages per CPU hold about 65 of them, the ring
	// buffer 4.
	const sent = 1000
	flood(t, sent)
	if _, err := a.Resume(agenttest.Ctx(t), id); err != nil {
		t.Fatal(err)
	}
	a.WaitLine(id, eventTimeout, func(l agent.LogLine) bool { return strings.HasPrefix(l.Text, "pb ") })
	// The kernel writes the perf buffer's lost record before the next
	// record, once there is room.
	flood(t, 1)
	last := func(prefix string) int {
		n := 0
		for _, l := range a.Lines(id, agent.StreamStdout) {
			if v, ok := strings.CutPrefix(l.Text, prefix+" "); ok {
				n, _ = strconv.Atoi(v)
			}
		}
		return n
	}
	deadline := time.Now().Add(eventTimeout)
	for {
		pb, rb := last("pb"), last("rb")
		perfLost := a.Metric("wasm_bpf_guest_records_lost_total", "guest", id, "source", "perf_buffer")
		progLost := a.Metric("wasm_bpf_guest_records_lost_total", "guest", id, "source", "program")
		delivered := a.Metric("wasm_bpf_guest_records_delivered_total", "guest", id)
		if pb+int(perfLost) == sent+1 && rb+int(progLost) == sent+1 && int(delivered) == pb+rb {
			if perfLost == 0 || progLost == 0 {
				t.Fatalf("nothing lost: perf %v, program %v", perfLost, progLost)
			}
			t.Logf("perf buffer: %d delivered, %v lost; ring buffer: %d delivered, %v lost", pb, perfLost, rb, progLost)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sent %d: the guest printed pb %d, rb %d; metrics: delivered %v, lost perf_buffer %v, program %v\nlog:\n%s",
				sent, pb, rb, delivered, perfLost, progLost, a.Log(id))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// guestObjs are the BPF objects the agent holds of its guests: the
// objects of agent.bpf.c (wbagt_*) and their global data (.bss, named
// after the guest: wbagt-...).
func guestObjs(t *testing.T, a *agenttest.Agent) bpfObjs {
	t.Helper()
	o := heldBy(t, a.PID())
	maps.DeleteFunc(o.progs, func(_ int, name string) bool { return !strings.HasPrefix(name, "wbagt_") })
	maps.DeleteFunc(o.maps, func(_ int, name string) bool { return !strings.HasPrefix(name, "wbagt") })
	maps.DeleteFunc(o.links, func(_, prog int) bool { _, ok := o.progs[prog]; return !ok })
	return o
}

// SIGTERM to the agent stops every guest, leaves none of their programs,
// maps or links in the kernel, and exits 0.
func TestAgentSIGTERM(t *testing.T) {
	wasm := agentWasm(t)
	a := startAgent(t)
	id := runID()
	const n = 3
	for i := range n {
		g := apiStart(t, a, agent.Spec{ID: fmt.Sprintf("wbagt-%s-%d", id, i), Module: wasm, Args: []string{"flood"}})
		a.WaitLine(g.ID, readyTimeout, func(l agent.LogLine) bool { return l.Text == "ready" })
	}
	held := guestObjs(t, a)
	// Each guest: two programs, one attached; maps wbagt_rb, wbagt_pb,
	// wbagt_big and the .bss (named after the guest: wbagt-...).
	if len(held.progs) != 2*n || len(held.links) != n || len(held.maps) != 4*n {
		t.Fatalf("while the guests run the agent holds %s; want %d programs, %d links, %d maps", held, 2*n, n, 4*n)
	}
	a.Signal(syscall.SIGTERM)
	if code := a.Wait(exitTimeout); code != 0 {
		t.Fatalf("agent exited with %d after SIGTERM:\n%s", code, a.Output())
	}
	if !strings.Contains(a.Output(), "nothing of theirs is left in the kernel") {
		t.Errorf("the agent did not say its guests left the kernel:\n%s", a.Output())
	}
	assertGone(t, nil, held)
}

// The running set follows the guest file: an entry added starts, one
// changed restarts with its new spec, one removed stops and is forgotten,
// one unchanged is untouched; a file that does not parse changes nothing.
// Guests started through the API are the file's to leave alone.
func TestAgentReconcile(t *testing.T) {
	wasm := agentWasm(t)
	dir := t.TempDir()
	// The module is given relative to the file's directory.
	if err := os.Symlink(wasm, filepath.Join(dir, "agent.wasm")); err != nil {
		t.Fatal(err)
	}
	id := runID()
	ga, gb, gc, gd := "wbagt-a-"+id, "wbagt-b-"+id, "wbagt-c-"+id, "wbagt-d-"+id
	file := filepath.Join(dir, "guests.yaml")
	write := func(content string) {
		t.Helper()
		// As editors do: a new file renamed over the old.
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	entry := func(id string, args ...string) string {
		return fmt.Sprintf("  - id: %s\n    module: agent.wasm\n    args: [%s]\n", id, strings.Join(args, ", "))
	}
	write("guests:\n" + entry(ga, "idle") + entry(gb, "idle") + entry(gd, "idle"))
	a := startAgent(t, "--config", file)
	for _, g := range []string{ga, gb, gd} {
		a.WaitState(g, agent.StateRunning, readyTimeout)
	}
	apiGuest := apiStart(t, a, agent.Spec{ID: "wbagt-api-" + id, Module: wasm, Args: []string{"idle"}})
	apiBefore := a.WaitState(apiGuest.ID, agent.StateRunning, readyTimeout)
	bBefore, _ := a.Get(agenttest.Ctx(t), gb)
	dBefore, _ := a.Get(agenttest.Ctx(t), gd)

	write("guests:\n" + entry(gb, "flood") + entry(gc, "idle") + entry(gd, "idle"))
	a.WaitState(gc, agent.StateRunning, readyTimeout)
	a.WaitStatus(gb, readyTimeout, "the new spec running", func(s agent.Status) bool {
		return s.State == agent.StateRunning && slices.Equal(s.Spec.Args, []string{"flood"}) && s.StartedAt.After(*bBefore.StartedAt)
	})
	waitGone(t, a, ga)
	if d, _ := a.Get(agenttest.Ctx(t), gd); !d.StartedAt.Equal(*dBefore.StartedAt) || d.State != agent.StateRunning {
		t.Errorf("unchanged entry %s was touched: before %+v, after %+v", gd, dBefore, d)
	}
	if s, _ := a.Get(agenttest.Ctx(t), apiGuest.ID); s.State != agent.StateRunning || !s.StartedAt.Equal(*apiBefore.StartedAt) {
		t.Errorf("the API's guest was touched: %+v", s)
	}

	// A broken file: logged, counted, and nothing changes.
	write("guests:\n  - id: " + gc + "\n    modul: typo.wasm\n")
	deadline := time.Now().Add(10 * time.Second)
	for a.Metric("wasm_bpf_guest_file_reloads_total", "result", "error") < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("a broken guest file was not counted as an error:\n%s", a.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(a.Output(), `unknown field \"modul\"`) {
		t.Errorf("the agent did not say what is wrong with the file:\n%s", a.Output())
	}
	for _, g := range []string{gb, gc, gd} {
		if s, _ := a.Get(agenttest.Ctx(t), g); s.State != agent.StateRunning {
			t.Errorf("%s after a broken file: %s, want running", g, s.State)
		}
	}
	// Back to a good file; then SIGHUP applies it again as it is, which
	// changes nothing.
	write("guests:\n" + entry(gc, "idle"))
	waitGone(t, a, gb)
	waitGone(t, a, gd)
	cBefore, _ := a.Get(agenttest.Ctx(t), gc)
	okBefore := a.Metric("wasm_bpf_guest_file_reloads_total", "result", "ok")
	a.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(10 * time.Second)
	for a.Metric("wasm_bpf_guest_file_reloads_total", "result", "ok") <= okBefore {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not apply the guest file:\n%s", a.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c, _ := a.Get(agenttest.Ctx(t), gc); !c.StartedAt.Equal(*cBefore.StartedAt) {
		t.Errorf("SIGHUP with an unchanged file restarted %s", gc)
	}
}

// waitGone waits until the agent no longer lists guest id.
func waitGone(t *testing.T, a *agenttest.Agent, id string) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		_, err := a.Get(agenttest.Ctx(t), id)
		if err != nil && strings.Contains(err.Error(), "no guest") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still listed: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
