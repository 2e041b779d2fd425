package examples_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// goTool is the go command the Go examples are built with: the one on
// PATH, else the one of the toolchain running the test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func TestGoExecve(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, fmt.Sprintf("go-execve-probe-%d", time.Now().UnixNano()))
	if err := os.Symlink("/bin/true", exe); err != nil {
		t.Fatal(err)
	}
	g := start(t, nil, "go-execve")
	if !strings.HasPrefix(g.seen[0], "PID") {
		t.Fatalf("first line %q is not the header", g.seen[0])
	}
	pid := spawn(t, exe)
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^%d\s+%d\s+0\s+\S+\s+%s$`, pid, os.Getpid(), regexp.QuoteMeta(exe))), lineTimeout)
}

// TestGoExecveCallbackWrapper builds go-execve on the SDK's other poll,
// the callback-wrapper import with an exported go-callback per record.
func TestGoExecveCallbackWrapper(t *testing.T) {
	dir := filepath.Join(examplesDir(t), "go-execve")
	// Built once per store, as the examples are (the VMs of
	// scripts/kernel-matrix.sh have no Go toolchain).
	out, err := tc.Stored("go-execve-cb", func(out string) error {
		cmd := exec.Command(goTool(), "build", "-tags", "wasmbpf_callback", "-trimpath", "-o", filepath.Join(out, "go-execve-cb.wasm"), ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build -tags wasmbpf_callback: %v\n%s", err, msg)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wasm := filepath.Join(out, "go-execve-cb.wasm")
	if out, _ := exec.Command("grep", "-c", "wasm_bpf_ext", wasm).Output(); strings.TrimSpace(string(out)) != "0" {
		t.Errorf("the callback-wrapper build still imports wasm_bpf_ext")
	}
	exe := filepath.Join(t.TempDir(), fmt.Sprintf("go-execve-cb-probe-%d", time.Now().UnixNano()))
	if err := os.Symlink("/bin/true", exe); err != nil {
		t.Fatal(err)
	}
	g := &guest{t: t, lines: make(chan string, 1024), done: make(chan struct{})}
	g.cmd = exec.Command(tc.CLIT(t), wasm)
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
	}()
	t.Cleanup(g.stop)
	g.next(startTimeout)
	pid := spawn(t, exe)
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^%d\s+%d\s+0\s+\S+\s+%s$`, pid, os.Getpid(), regexp.QuoteMeta(exe))), lineTimeout)
}

// TestGoExecveBurst execs a burst of processes and checks that every one
// was reported: the batched poll loses nothing when records pile up.
func TestGoExecveBurst(t *testing.T) {
	const n = 300
	dir := t.TempDir()
	exe := filepath.Join(dir, fmt.Sprintf("go-burst-%d", time.Now().UnixNano()))
	if err := os.Symlink("/bin/true", exe); err != nil {
		t.Fatal(err)
	}
	g := start(t, nil, "go-execve")
	start := time.Now()
	runCmd(t, "bash", "-c", fmt.Sprintf(`for i in $(seq %d); do %s; done`, n, exe))
	re := regexp.MustCompile(`\s` + regexp.QuoteMeta(exe) + `$`)
	for got := 0; got < n; {
		g.waitFor(re, lineTimeout)
		got++
	}
	t.Logf("%d execs reported in %v", n, time.Since(start).Round(time.Millisecond))
}

func TestGoLSM(t *testing.T) {
	name := fmt.Sprintf("go-lsm-probe-%d", os.Getpid())
	g := startNoWait(t, nil, "go-lsm", name, "2")
	first, ok := g.first()
	if ok {
		// BPF LSM works on this kernel: the program must deny.
		if !strings.HasPrefix(first, "Denying rmdir") {
			t.Fatalf("unexpected first line %q", first)
		}
		d := filepath.Join(t.TempDir(), name)
		os.Mkdir(d, 0o755)
		if err := os.Remove(d); err == nil {
			t.Errorf("rmdir %s succeeded under go-lsm", d)
		}
		g.wait(lineTimeout)
		if !strings.Contains(strings.Join(g.seen, "\n"), "denied 1 rmdir(s)") {
			t.Errorf("want denied 1, got:\n%s", strings.Join(g.seen, "\n"))
		}
		return
	}
	// The guest's line is the runtime's explanation, which its error carries.
	stderr := checkRefusal(t, g, "lsm", "go_lsm", "go-lsm: wasmbpf: load: cannot load BPF object \"go_lsm\": ")
	t.Logf("kernel refused BPF LSM here; the user saw:\n%s", stderr)
}
