package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// Bounds that keep a broken runtime from hanging the tests.
const (
	readyTimeout = 30 * time.Second // start to "ready": compiling a C guest (well under a second), loading, attaching
	eventTimeout = 10 * time.Second // spawned execs to their events
	exitTimeout  = 15 * time.Second // stop request to the guest's exit
	// bigReadyTimeout is readyTimeout for a guest with a language's runtime
	// in it: a Go guest is 2.6 MB of Wasm to compile when the compile cache
	// lacks it, 4-5 s on a quiet 2-core machine and many times that while
	// other builds and tests run.
	bigReadyTimeout = 2 * time.Minute
)

// ---- building --------------------------------------------------------------

// bpfHeader compiles testdata/<name>.bpf.c and embeds the object as
// <name>_bpf[] in <name>_bpf.h; it returns the header's directory.
func bpfHeader(t *testing.T, name string) string {
	t.Helper()
	obj := tc.BPFObjectT(t, filepath.Join("testdata", name+".bpf.c"))
	return tc.EmbedObjectT(t, obj, name+"_bpf")
}

// guestWasm builds testdata/<name>.c, embedding the BPF objects of bpfNames.
func guestWasm(t *testing.T, name string, bpfNames []string, defines ...string) string {
	t.Helper()
	var inc []string
	for _, b := range bpfNames {
		inc = append(inc, bpfHeader(t, b))
	}
	return tc.GuestWasmT(t, testenv.Guest{
		Src:      filepath.Join("testdata", name+".c"),
		Includes: inc,
		Defines:  defines,
	})
}

// runID is a short random tag that makes the names of one test's processes
// unique on the machine.
func runID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// ---- guest output ----------------------------------------------------------

type line struct {
	text string
	at   time.Time
}

// lineLog is an io.Writer that splits what is written into time-stamped
// lines; it is safe for concurrent use and wakes waiters on every line.
type lineLog struct {
	mu      sync.Mutex
	lines   []line
	partial []byte
	notify  chan struct{}
}

func newLineLog() *lineLog { return &lineLog{notify: make(chan struct{}, 1)} }

func (l *lineLog) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, line{string(l.partial[:i]), now})
		l.partial = l.partial[i+1:]
	}
	l.mu.Unlock()
	l.wake()
	return len(p), nil
}

func (l *lineLog) wake() {
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

func (l *lineLog) snapshot() []line {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]line, len(l.lines), len(l.lines)+1)
	copy(out, l.lines)
	if len(l.partial) > 0 {
		out = append(out, line{string(l.partial) + " (no newline)", time.Time{}})
	}
	return out
}

func (l *lineLog) String() string {
	var b strings.Builder
	for _, ln := range l.snapshot() {
		b.WriteString(ln.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ---- running guests --------------------------------------------------------

// guest is one running guest, through the CLI or in-process.
type guest struct {
	t      *testing.T
	desc   string
	start  time.Time
	stdout *lineLog
	stderr *lockedBuffer
	stdin  interface {
		Write([]byte) (int, error)
		Close() error
	}
	cmd    *exec.Cmd          // CLI only
	cancel context.CancelFunc // in-process only
	base   bpfObjs            // in-process only: what this process held before the guest started

	done     chan struct{} // closed when the guest has ended
	exitCode int
	err      error // the CLI's wait error, or host.Run's error
	endedAt  time.Time
}

// startCLI runs `wasm-bpf [flags...] wasm args...` built by the toolchain.
func startCLI(t *testing.T, flags []string, wasm string, args ...string) *guest {
	t.Helper()
	argv := append(append(append([]string{}, flags...), wasm), args...)
	return startCommand(t, "wasm-bpf "+strings.Join(argv, " "), exec.Command(tc.CLIT(t), argv...))
}

// startArgv runs argv, a command that runs the CLI (a wrapper that execs
// it, so that signals reach it), as startCLI does.
func startArgv(t *testing.T, argv ...string) *guest {
	t.Helper()
	return startCommand(t, strings.Join(argv, " "), exec.Command(argv[0], argv[1:]...))
}

// startCommand starts cmd, a command that runs a guest, as startCLI does.
func startCommand(t *testing.T, desc string, cmd *exec.Cmd) *guest {
	t.Helper()
	g := &guest{
		t:      t,
		desc:   desc,
		stdout: newLineLog(),
		stderr: &lockedBuffer{},
		cmd:    cmd,
		done:   make(chan struct{}),
	}
	cmd.Stdout = g.stdout
	cmd.Stderr = g.stderr
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	g.stdin = stdin
	g.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", g.desc, err)
	}
	go func() {
		err := cmd.Wait()
		g.endedAt = time.Now()
		g.err = err
		g.exitCode = cmd.ProcessState.ExitCode()
		close(g.done)
		g.stdout.wake()
	}()
	t.Cleanup(func() {
		select {
		case <-g.done:
		default:
			_ = cmd.Process.Kill()
			<-g.done
		}
	})
	return g
}

// startInProcess runs the guest with host.Run in this process.
func startInProcess(t *testing.T, wasmPath string, args ...string) *guest {
	t.Helper()
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	g := &guest{
		t:      t,
		desc:   "host.Run " + strings.Join(append([]string{wasmPath}, args...), " "),
		stdout: newLineLog(),
		stderr: &lockedBuffer{},
		stdin:  stdinW,
		cancel: cancel,
		done:   make(chan struct{}),
		base:   heldBy(t, os.Getpid()),
	}
	cfg := host.Config{
		Args:   append([]string{wasmPath}, args...),
		Stdin:  stdinR,
		Stdout: g.stdout,
		Stderr: g.stderr,
	}
	g.start = time.Now()
	go func() {
		code, err := host.Run(ctx, wasm, cfg)
		g.endedAt = time.Now()
		g.exitCode, g.err = code, err
		close(g.done)
		g.stdout.wake()
	}()
	t.Cleanup(func() {
		cancel()
		stdinW.Close()
		select {
		case <-g.done:
		case <-time.After(10 * time.Second):
			t.Errorf("host.Run did not return within 10 s of its context being cancelled")
		}
		stdinR.Close()
	})
	return g
}

// output is what the guest printed, for failure messages (a long stdout is
// cut in the middle).
func (g *guest) output() string {
	const headLines, tailLines = 60, 140
	ls := g.stdout.snapshot()
	var b strings.Builder
	for i, l := range ls {
		if i == headLines && len(ls) > headLines+tailLines {
			fmt.Fprintf(&b, "... %d lines not shown ...\n", len(ls)-headLines-tailLines)
		}
		if i >= headLines && i < len(ls)-tailLines {
			continue
		}
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return fmt.Sprintf("%s\n--- stdout ---\n%s--- stderr ---\n%s", g.desc, b.String(), g.stderr)
}

func (g *guest) fatalf(format string, args ...any) {
	g.t.Helper()
	g.t.Fatalf("%s\n%s", fmt.Sprintf(format, args...), g.output())
}

func (g *guest) errorf(format string, args ...any) {
	g.t.Helper()
	g.t.Errorf("%s\n%s", fmt.Sprintf(format, args...), g.output())
}

func (g *guest) ended() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// waitFor waits until pred holds for the output so far, and returns the
// index of the line that made it hold (pred's result). It fails the test
// after timeout, or if the guest ends first.
func (g *guest) waitFor(what string, timeout time.Duration, pred func([]line) int) int {
	g.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if i := pred(g.stdout.snapshot()); i >= 0 {
			return i
		}
		if g.ended() {
			// One last look: the final lines may have come with the end.
			if i := pred(g.stdout.snapshot()); i >= 0 {
				return i
			}
			g.fatalf("guest ended (exit %d, %v) before %s", g.exitCode, g.err, what)
		}
		select {
		case <-g.stdout.notify:
		case <-g.done:
		case <-deadline.C:
			g.fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// waitLine waits for a line equal to text and returns when it was printed.
func (g *guest) waitLine(text string, timeout time.Duration) time.Time {
	g.t.Helper()
	i := g.waitFor(fmt.Sprintf("the line %q", text), timeout, func(ls []line) int {
		for i, l := range ls {
			if l.text == text {
				return i
			}
		}
		return -1
	})
	return g.stdout.snapshot()[i].at
}

// waitExit waits for the guest to end and returns its exit code.
func (g *guest) waitExit(timeout time.Duration) int {
	g.t.Helper()
	select {
	case <-g.done:
		return g.exitCode
	case <-time.After(timeout):
		if g.cmd != nil {
			_ = g.cmd.Process.Kill()
		} else {
			g.cancel()
		}
		g.fatalf("guest did not end within %v", timeout)
	}
	return -1
}

func (g *guest) sendLine(s string) {
	g.t.Helper()
	if _, err := g.stdin.Write([]byte(s + "\n")); err != nil {
		g.fatalf("write to the guest's stdin: %v", err)
	}
}

func (g *guest) signal(sig syscall.Signal) {
	g.t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		g.fatalf("signal %v: %v", sig, err)
	}
}

// ---- exec events -----------------------------------------------------------

// execEvent is one "event <pid> <ppid> <comm>" line.
type execEvent struct {
	pid, ppid int
	comm      string
	at        time.Time
}

func parseEvents(ls []line) []execEvent {
	var evs []execEvent
	for _, l := range ls {
		f := strings.SplitN(l.text, " ", 4)
		if len(f) != 4 || f[0] != "event" {
			continue
		}
		pid, err1 := strconv.Atoi(f[1])
		ppid, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			continue
		}
		evs = append(evs, execEvent{pid, ppid, f[3], l.at})
	}
	return evs
}

// spawner runs short processes under chosen names: each name is a symlink
// to true(1) in a temporary directory, executed by its path, so the new
// task's comm is the name.
type spawner struct {
	t    *testing.T
	dir  string
	true string
}

func newSpawner(t *testing.T) *spawner {
	t.Helper()
	tr, err := exec.LookPath("true")
	if err != nil {
		t.Fatalf("true(1) not found: %v", err)
	}
	return &spawner{t: t, dir: t.TempDir(), true: tr}
}

// path returns the path that execs true(1) as name.
func (s *spawner) path(name string) string {
	s.t.Helper()
	if len(name) > 15 {
		s.t.Fatalf("process name %q is longer than a comm (15)", name)
	}
	p := filepath.Join(s.dir, name)
	if err := os.Symlink(s.true, p); err != nil && !errors.Is(err, os.ErrExist) {
		s.t.Fatal(err)
	}
	return p
}

// run executes name as a child of the test and returns its pid.
func (s *spawner) run(name string) int {
	s.t.Helper()
	cmd := exec.Command(s.path(name))
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("run %s: %v %s", name, err, out)
	}
	return cmd.ProcessState.Pid()
}

// runMany executes every name, with a few workers, and returns the pid of
// each and the time the first one was started.
func (s *spawner) runMany(names []string, workers int) (map[string]int, time.Time) {
	s.t.Helper()
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = s.path(n)
	}
	pids := make(map[string]int, len(names))
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(names); i += workers {
				cmd := exec.Command(paths[i])
				if err := cmd.Run(); err != nil {
					errs <- fmt.Errorf("run %s: %v", names[i], err)
					return
				}
				mu.Lock()
				pids[names[i]] = cmd.ProcessState.Pid()
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		s.t.Fatal(err)
	}
	return pids, start
}

// eventsResult is what runEventsScenario measured.
type eventsResult struct {
	startToReady time.Duration // guest start to "ready"
	perSecond    float64       // n / (first spawn to last event seen)
	spawning     time.Duration // first spawn to last spawned process reaped
	lag          time.Duration // last spawn reaped to last event seen
}

func (r eventsResult) String() string {
	return fmt.Sprintf("start-to-attached %v; delivered %.0f events/s (spawning alone took %v, last event %v after the last spawn)",
		r.startToReady.Round(100*time.Microsecond), r.perSecond,
		r.spawning.Round(time.Millisecond), r.lag.Round(100*time.Microsecond))
}

// runEventsScenario drives a guest that reports execs ("event" lines) until
// it sees stop: it waits for "ready", spawns n processes with unique names,
// checks every one was reported exactly once with the right pid and ppid,
// then execs stop and expects the guest to exit 0.
func runEventsScenario(t *testing.T, g *guest, sp *spawner, prefix, stop string, n int) eventsResult {
	t.Helper()
	readyAt := g.waitLine("ready", readyTimeout)
	res := eventsResult{startToReady: readyAt.Sub(g.start)}

	names := make([]string, n)
	want := make(map[string]bool, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", prefix, i)
		want[names[i]] = true
	}
	pids, firstSpawn := sp.runMany(names, 4)
	spawned := time.Now()

	// Wait until every name was reported (or the time is up: the check
	// below then tells which are missing).
	var lastSeen time.Time
	deadline := time.Now().Add(eventTimeout)
	for {
		seen := 0
		for _, ev := range parseEvents(g.stdout.snapshot()) {
			if want[ev.comm] {
				seen++
				if ev.at.After(lastSeen) {
					lastSeen = ev.at
				}
			}
		}
		if seen >= n || time.Now().After(deadline) || g.ended() {
			break
		}
		select {
		case <-g.stdout.notify:
		case <-g.done:
		case <-time.After(100 * time.Millisecond):
		}
	}

	// Stop the guest; keep exec'ing the stop name until it ends, in case
	// one exec is missed.
	stopPath := sp.path(stop)
	stopDeadline := time.Now().Add(exitTimeout)
	for !g.ended() && time.Now().Before(stopDeadline) {
		if err := exec.Command(stopPath).Run(); err != nil {
			t.Fatalf("run %s: %v", stop, err)
		}
		select {
		case <-g.done:
		case <-time.After(500 * time.Millisecond):
		}
	}
	if code := g.waitExit(time.Until(stopDeadline) + time.Second); code != 0 {
		g.fatalf("guest exit code %d (err %v), want 0", code, g.err)
	}

	// Every spawned process reported exactly once, as what it was.
	count := map[string]int{}
	me := os.Getpid()
	var bad []string
	for _, ev := range parseEvents(g.stdout.snapshot()) {
		if !want[ev.comm] {
			continue
		}
		count[ev.comm]++
		if ev.pid != pids[ev.comm] || ev.ppid != me {
			bad = append(bad, fmt.Sprintf("%s: pid %d ppid %d, want pid %d ppid %d", ev.comm, ev.pid, ev.ppid, pids[ev.comm], me))
		}
	}
	var missing, dup []string
	for _, name := range names {
		switch c := count[name]; {
		case c == 0:
			missing = append(missing, name)
		case c > 1:
			dup = append(dup, fmt.Sprintf("%s x%d", name, c))
		}
	}
	if len(missing) > 0 || len(dup) > 0 || len(bad) > 0 {
		g.fatalf("of %d processes: %d missing %v; duplicated %v; wrong fields %v",
			n, len(missing), head(missing, 20), head(dup, 20), head(bad, 20))
	}
	if d := lastSeen.Sub(firstSpawn); d > 0 {
		res.perSecond = float64(n) / d.Seconds()
	}
	res.spawning = spawned.Sub(firstSpawn)
	res.lag = lastSeen.Sub(spawned)
	return res
}

func head(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}
