// Package examples_test builds every example with `make -C examples` (from
// a copy of the sources, with the wasm-bpf CLI built from this tree) and
// runs each against the kernel: the test makes known activity happen and
// checks what the example printed.
package examples_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

var tc *testenv.Toolchain

func TestMain(m *testing.M) {
	var err error
	tc, err = testenv.NewToolchain("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "examples: toolchain:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := tc.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "examples: removing the toolchain's files:", err)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// examplesDir builds every example once, with the repository's own
// Makefiles, in a copy of examples/ and sdk/c (the source tree stays
// clean), and returns the copy's examples directory.
func examplesDir(t *testing.T) string {
	t.Helper()
	testenv.RequireBPF(t)
	cli := tc.CLIT(t)
	buildOnce.Do(func() {
		start := time.Now()
		built := false
		dst, err := tc.Stored("examples-build", func(dst string) error {
			built = true
			return buildExamples(dst, cli)
		})
		if err != nil {
			buildErr = err
			return
		}
		buildDir = filepath.Join(dst, "examples")
		if built {
			t.Logf("make -C examples took %v", time.Since(start).Round(time.Millisecond))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// buildExamples copies examples/, the SDKs and go.mod to dst and builds
// every example there with cli for `wasm-bpf gen`.
func buildExamples(dst, cli string) error {
	// The Rust examples need Debian's rustc and cargo (scripts/deps.sh).
	if _, err := testenv.FindRust(); err != nil {
		return err
	}
	root := tc.RepoRoot()
	// The Go examples build in the module: sdk/go and go.mod come too;
	// the Rust ones on the crate of sdk/rust.
	for _, d := range []string{"examples", "sdk/c", "sdk/go", "sdk/rust"} {
		if err := os.MkdirAll(filepath.Join(dst, d), 0o755); err != nil {
			return err
		}
		if out, err := exec.Command("cp", "-a", filepath.Join(root, d)+"/.", filepath.Join(dst, d)).CombinedOutput(); err != nil {
			return fmt.Errorf("copy %s: %v\n%s", d, err, out)
		}
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if out, err := exec.Command("cp", filepath.Join(root, f), dst).CombinedOutput(); err != nil {
			return fmt.Errorf("copy %s: %v\n%s", f, err, out)
		}
	}
	// A developer's cargo build of the crate is not part of the copy.
	if err := os.RemoveAll(filepath.Join(dst, "sdk", "rust", "target")); err != nil {
		return err
	}
	ex := filepath.Join(dst, "examples")
	// Whatever a developer built in the tree must not be reused.
	if out, err := exec.Command("make", "-s", "-C", ex, "clean", "WASM_BPF="+cli).CombinedOutput(); err != nil {
		return fmt.Errorf("make clean: %v\n%s", err, out)
	}
	out, err := exec.Command("make", "-j4", "-C", ex, "WASM_BPF="+cli, "GO="+goTool()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("make -C examples: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("warning")) {
		return fmt.Errorf("make -C examples printed warnings:\n%s", out)
	}
	return nil
}

// allow is what each example needs beyond the default profile, observe
// (docs/policy.md); its README says so, start passes it, and
// TestInspectExamples checks it against what `wasm-bpf inspect` finds.
var allow = map[string][]string{
	"xdp":     {"network"},
	"sockops": {"network"},
	"lsm":     {"security"},
	"go-lsm":  {"security"},
}

// guest is a running example.
type guest struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	mu     sync.Mutex
	stderr bytes.Buffer
	seen   []string
	done   chan struct{}
}

func (g *guest) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stderr.Write(p)
}

func (g *guest) errText() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stderr.String()
}

// start runs example name's module through the CLI (prefix, if any, runs
// the CLI: ip netns exec) and waits for its first line of output, which
// every example prints once it is attached.
func start(t *testing.T, prefix []string, name string, args ...string) *guest {
	t.Helper()
	g := startNoWait(t, prefix, name, args...)
	g.next(startTimeout)
	return g
}

func startNoWait(t *testing.T, prefix []string, name string, args ...string) *guest {
	t.Helper()
	dir := examplesDir(t)
	argv := append(append([]string{}, prefix...), tc.CLIT(t))
	for _, c := range allow[name] {
		argv = append(argv, "--allow", c)
	}
	argv = append(append(argv, filepath.Join(dir, name, name+".wasm")), args...)
	g := &guest{t: t, lines: make(chan string, 1024), done: make(chan struct{})}
	g.cmd = exec.Command(argv[0], argv[1:]...)
	g.cmd.Stderr = g
	stdout, err := g.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			g.lines <- sc.Text()
		}
		close(g.lines)
		io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() { g.stop() })
	return g
}

// first returns the example's first line, or false if it ended without
// one; it fails the test after startTimeout.
func (g *guest) first() (string, bool) {
	g.t.Helper()
	select {
	case l, ok := <-g.lines:
		if ok {
			g.seen = append(g.seen, l)
		}
		return l, ok
	case <-time.After(startTimeout):
		g.t.Fatalf("no output and no end for %v; stderr:\n%s", startTimeout, g.errText())
	}
	return "", false
}

// next returns the next line, failing the test after timeout or at EOF.
func (g *guest) next(timeout time.Duration) string {
	g.t.Helper()
	select {
	case l, ok := <-g.lines:
		if !ok {
			g.t.Fatalf("example ended early; output:\n%s\nstderr:\n%s", strings.Join(g.seen, "\n"), g.errText())
		}
		g.seen = append(g.seen, l)
		return l
	case <-time.After(timeout):
		g.t.Fatalf("no output for %v; so far:\n%s\nstderr:\n%s", timeout, strings.Join(g.seen, "\n"), g.errText())
	}
	return ""
}

// waitFor reads lines until one matches re and returns its submatches.
func (g *guest) waitFor(re *regexp.Regexp, timeout time.Duration) []string {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			g.t.Fatalf("no line matching %q within %v; output:\n%s\nstderr:\n%s", re, timeout, strings.Join(g.seen, "\n"), g.errText())
		}
		if m := re.FindStringSubmatch(g.next(left)); m != nil {
			return m
		}
	}
}

// wait waits for the example to end by itself and returns its exit code.
func (g *guest) wait(timeout time.Duration) int {
	g.t.Helper()
	for {
		select {
		case l, ok := <-g.lines:
			if ok {
				g.seen = append(g.seen, l)
				continue
			}
		case <-time.After(timeout):
			g.t.Fatalf("example still running after %v", timeout)
		}
		break
	}
	err := g.cmd.Wait()
	close(g.done)
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		g.t.Fatal(err)
	}
	return 0
}

// stop interrupts the example (SIGINT, as Ctrl-C) and reaps it.
func (g *guest) stop() {
	select {
	case <-g.done:
		return
	default:
	}
	g.cmd.Process.Signal(syscall.SIGINT)
	exited := make(chan struct{})
	go func() {
		for range g.lines {
		}
		g.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		g.cmd.Process.Kill()
		<-exited
	}
	close(g.done)
}

func runCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
