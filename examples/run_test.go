package examples_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// Bounds that keep a broken example from hanging the tests; neither is a
// measure of speed.
const (
	// startTimeout bounds an example's start to its first line: compiling
	// the module when the compile cache lacks it (a Go guest is 2.6 MB of
	// Wasm: 4-5 s on a quiet 2-core machine, many times that while other
	// builds and tests run), loading and attaching its BPF objects.
	startTimeout = 2 * time.Minute
	// lineTimeout bounds what follows the first line, when the module runs:
	// from the activity the test makes to the line that reports it, or from
	// the first line to the example's end.
	lineTimeout = 10 * time.Second
)

// spawn runs a command to completion and returns its pid.
func spawn(t *testing.T, name string, args ...string) int {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cmd.Process.Pid
}

// The bootstrap example in C, Go and Rust: exec and exit lines of the
// test's own process, and the -d filter, which reaches the BPF side through
// .rodata.
func TestBootstrap(t *testing.T) {
	for _, name := range []string{"bootstrap", "go-bootstrap", "rust-bootstrap"} {
		t.Run(name, func(t *testing.T) {
			g := start(t, nil, name)
			pid := spawn(t, "sleep", "0.3")
			g.waitFor(regexp.MustCompile(fmt.Sprintf(`EXEC\s+sleep\s+%d\s+%d\s+\S*/sleep$`, pid, os.Getpid())), lineTimeout)
			m := g.waitFor(regexp.MustCompile(fmt.Sprintf(`EXIT\s+sleep\s+%d\s+%d\s+\[0\] \((\d+)ms\)$`, pid, os.Getpid())), lineTimeout)
			if ms, _ := strconv.Atoi(m[1]); ms < 280 || ms > 3000 {
				t.Errorf("sleep 0.3 lived %d ms by %s's count", ms, name)
			}
			g.stop()

			// -d 200: only exits of processes that lived 200 ms or more, no execs.
			g = start(t, nil, name, "-d", "200")
			short := spawn(t, "sleep", "0.01")
			long := spawn(t, "sleep", "0.4")
			m = g.waitFor(regexp.MustCompile(fmt.Sprintf(`EXIT\s+sleep\s+%d\s+.*\((\d+)ms\)$`, long)), lineTimeout)
			if ms, _ := strconv.Atoi(m[1]); ms < 380 {
				t.Errorf("sleep 0.4 lived %d ms by %s's count", ms, name)
			}
			for _, l := range g.seen {
				if strings.Contains(l, " EXEC ") || regexp.MustCompile(fmt.Sprintf(`\s%d\s`, short)).MatchString(l) {
					t.Errorf("-d 200 let through %q", l)
				}
				if m := regexp.MustCompile(`\((\d+)ms\)$`).FindStringSubmatch(l); m != nil {
					if ms, _ := strconv.Atoi(m[1]); ms < 200 {
						t.Errorf("-d 200 let through %q", l)
					}
				}
			}
		})
	}
}

// TestBootstrapBurst execs a burst of processes under each bootstrap and
// checks that every exec was reported; it logs the rate at which the
// events arrived (bounded by how fast one bash spawns them) and the size
// of each module.
func TestBootstrapBurst(t *testing.T) {
	const n = 300
	for _, name := range []string{"bootstrap", "go-bootstrap", "rust-bootstrap"} {
		t.Run(name, func(t *testing.T) {
			exe := filepath.Join(t.TempDir(), fmt.Sprintf("burst-%d", time.Now().UnixNano()%1e9))
			if err := os.Symlink("/bin/true", exe); err != nil {
				t.Fatal(err)
			}
			g := start(t, nil, name)
			begin := time.Now()
			runCmd(t, "bash", "-c", fmt.Sprintf(`for i in $(seq %d); do %s; done`, n, exe))
			spawning := time.Since(begin)
			re := regexp.MustCompile(`EXEC\s+\S+\s+\d+\s+\d+\s+` + regexp.QuoteMeta(exe) + `$`)
			for got := 0; got < n; got++ {
				g.waitFor(re, lineTimeout)
			}
			took := time.Since(begin)
			st, err := os.Stat(filepath.Join(examplesDir(t), name, name+".wasm"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d execs reported in %v, %.0f events/s (spawning alone took %v); module %d bytes",
				name, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), spawning.Round(time.Millisecond), st.Size())
		})
	}
}

func TestExecve(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, fmt.Sprintf("execve-probe-%d", time.Now().UnixNano()))
	if err := os.Symlink("/bin/true", exe); err != nil {
		t.Fatal(err)
	}
	g := start(t, nil, "execve")
	spawn(t, exe)
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^\d+\s+%d\s+0\s+\S+\s+%s$`, os.Getpid(), regexp.QuoteMeta(exe))), lineTimeout)
}

func TestOpensnoop(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, fmt.Sprintf("opensnoop-probe-%d", time.Now().UnixNano()))
	other := name + "-other"
	for _, f := range []string{name, other} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// -p: the test's own opens, and not those of another process.
	g := start(t, nil, "opensnoop", "-p", strconv.Itoa(os.Getpid()))
	spawn(t, "cat", other)
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^%d\s+\S+\s+\d+\s+0 %s$`, os.Getpid(), regexp.QuoteMeta(name))), lineTimeout)
	for _, l := range g.seen {
		if strings.Contains(l, other) || (strings.Contains(l, "cat") && !strings.HasPrefix(l, "PID")) {
			t.Errorf("-p %d let through %q", os.Getpid(), l)
		}
	}
	g.stop()

	// -n: only commands of that name; a missing file shows its errno.
	g = start(t, nil, "opensnoop", "-n", "cat")
	f, err = os.Open(other)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	exec.Command("cat", name+"-missing").Run()
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^\d+\s+cat\s+-1\s+2 %s-missing$`, regexp.QuoteMeta(name))), lineTimeout)
	for _, l := range g.seen {
		if strings.Contains(l, other) {
			t.Errorf("-n cat let through %q", l)
		}
	}
}

// The runqlat example in C, Go and Rust: a histogram read from a map, and a
// .bss counter read back from the kernel.
func TestRunqlat(t *testing.T) {
	for _, name := range []string{"runqlat", "go-runqlat", "rust-runqlat"} {
		t.Run(name, func(t *testing.T) { checkRunqlat(t, name) })
	}
}

func checkRunqlat(t *testing.T, name string) {
	// One 1 s interval after the first line (runqlat's C stdout is a pipe's,
	// block-buffered: its first line may come at its end).
	g := start(t, nil, name, "1", "1")
	if code := g.wait(lineTimeout); code != 0 {
		t.Fatalf("%s exited %d; stderr:\n%s", name, code, g.errText())
	}
	out := strings.Join(g.seen, "\n")
	if !regexp.MustCompile(`(?m)^\s+usecs\s+: count\s+distribution$`).MatchString(out) {
		t.Fatalf("no histogram header in:\n%s", out)
	}
	total := 0
	for _, m := range regexp.MustCompile(`(?m)^\s*(\d+) -> (\d+)\s+: (\d+)\s+\|\**\|$`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[3])
		total += n
	}
	if total == 0 {
		t.Fatalf("histogram has no counts:\n%s", out)
	}
	m := regexp.MustCompile(`total samples: (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no total (read back from .bss) in:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n < total {
		t.Errorf(".bss total_samples = %d, less than the histogram's %d", n, total)
	}
}

func TestSockfilter(t *testing.T) {
	ln, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g := start(t, nil, "sockfilter", "lo")
	c, err := net.Dial("udp4", ln.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("sockfilter probe")); err != nil {
		t.Fatal(err)
	}
	src := c.LocalAddr().(*net.UDPAddr).Port
	dst := ln.LocalAddr().(*net.UDPAddr).Port
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^UDP\s+127\.0\.0\.1:%d -> 127\.0\.0\.1:%d$`, src, dst)), lineTimeout)
}

// cgroup2Mount finds the cgroup v2 hierarchy from /proc/mounts.
func cgroup2Mount(t *testing.T) string {
	f, err := os.Open("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 3 && fs[2] == "cgroup2" {
			return fs[1]
		}
	}
	t.Fatal("no cgroup2 mount in /proc/mounts")
	return ""
}

func TestSockops(t *testing.T) {
	cg := filepath.Join(cgroup2Mount(t), fmt.Sprintf("wasm-bpf-sockops-%d", os.Getpid()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(cg)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	g := start(t, nil, "sockops", cg)
	// The client joins the cgroup, then connects; the test (outside it)
	// accepts, so only the active side is reported.
	script := fmt.Sprintf(`echo $$ > %s/cgroup.procs && exec 3<>/dev/tcp/127.0.0.1/%d`, cg, port)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	runCmd(t, "bash", "-c", script)
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^ACTIVE\s+127\.0\.0\.1:\d+ -> 127\.0\.0\.1:%d$`, port)), lineTimeout)
	for _, l := range g.seen {
		if strings.HasPrefix(l, "PASSIVE") {
			t.Errorf("the accepting side is outside the cgroup, yet: %q", l)
		}
	}
}

func TestXDP(t *testing.T) {
	// Namespace names are global: another run of this test may be at the
	// same point.
	id := rand.Uint32()
	nsA, nsB := fmt.Sprintf("wbxa-%08x", id), fmt.Sprintf("wbxb-%08x", id)
	runCmd(t, "ip", "netns", "add", nsA)
	defer exec.Command("ip", "netns", "del", nsA).Run()
	runCmd(t, "ip", "netns", "add", nsB)
	defer exec.Command("ip", "netns", "del", nsB).Run()
	runCmd(t, "ip", "link", "add", "vA", "netns", nsA, "type", "veth", "peer", "name", "vB", "netns", nsB)
	runCmd(t, "ip", "-n", nsA, "addr", "add", "10.213.0.1/24", "dev", "vA")
	runCmd(t, "ip", "-n", nsB, "addr", "add", "10.213.0.2/24", "dev", "vB")
	runCmd(t, "ip", "-n", nsA, "link", "set", "vA", "up")
	runCmd(t, "ip", "-n", nsB, "link", "set", "vB", "up")

	g := start(t, []string{"ip", "netns", "exec", nsB}, "xdp", "vB", "1")
	const n = 7
	runCmd(t, "ip", "netns", "exec", nsA, "bash", "-c",
		fmt.Sprintf(`for i in $(seq %d); do echo probe > /dev/udp/10.213.0.2/9999; done`, n))
	m := g.waitFor(regexp.MustCompile(`^UDP: (\d+)$`), lineTimeout)
	if got, _ := strconv.Atoi(m[1]); got != n {
		// Only the test sends UDP in a fresh namespace pair.
		t.Errorf("UDP count = %d, want %d", got, n)
	}
}

func TestUprobe(t *testing.T) {
	dir := examplesDir(t)
	g := start(t, nil, "uprobe")
	cmd := exec.Command(filepath.Join(dir, "uprobe", "uprobe_target"), "20", "22")
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "42" {
		t.Fatalf("uprobe_target 20 22: %q, %v", out, err)
	}
	pid := cmd.Process.Pid
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^%d\s+uprobe_add\(20, 22\)$`, pid)), lineTimeout)
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^%d\s+uprobe_add returned 42$`, pid)), lineTimeout)
}

func TestLSM(t *testing.T) {
	dir := t.TempDir()
	name := fmt.Sprintf("lsm-probe-%d", os.Getpid())
	g := startNoWait(t, nil, "lsm", name, "3")
	first, ok := g.first()
	if !ok {
		// The kernel refused the program: the user sees the runtime's
		// line, which names the cause, and the guest's.
		stderr := checkRefusal(t, g, "lsm", "lsm", "lsm: the BPF LSM program was not loaded")
		t.Logf("kernel refused BPF LSM here; the user saw:\n%s", stderr)
		return
	}
	if !strings.HasPrefix(first, "Denying rmdir") {
		t.Fatalf("unexpected first line %q", first)
	}
	target, other := filepath.Join(dir, name), filepath.Join(dir, "other")
	for _, d := range []string{target, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Rmdir(target); !errors.Is(err, syscall.EPERM) {
		t.Errorf("rmdir %s: %v, want EPERM", target, err)
	}
	if err := syscall.Rmdir(other); err != nil {
		t.Errorf("rmdir %s: %v", other, err)
	}
	if code := g.wait(lineTimeout); code != 0 {
		t.Errorf("lsm exited %d: %s", code, g.errText())
	}
	if !strings.Contains(strings.Join(g.seen, "\n"), "denied 1 rmdir(s)") {
		t.Errorf("want denied 1, got:\n%s", strings.Join(g.seen, "\n"))
	}
}

// TestFentry: fentry and fexit on vfs_rmdir report an rmdir on the way in
// and on the way out, with its result. Where the kernel refuses BPF
// trampolines (this project's development machine answers EPERM), the user
// is told so in one line, and the kernel's answer in the debug log is
// EPERM; scripts/kernel-matrix.sh runs the test on kernels that must run it.
func TestFentry(t *testing.T) {
	g := startNoWait(t, nil, "fentry")
	first, ok := g.first()
	if !ok {
		stderr := checkRefusal(t, g, "fentry", "fentry", "fentry: ")
		out, _ := exec.Command(tc.CLIT(t), "-v", filepath.Join(examplesDir(t), "fentry", "fentry.wasm")).CombinedOutput()
		if want := "prog 'rmdir_entry': BPF program load failed: Operation not permitted"; !strings.Contains(string(out), want) {
			t.Errorf("wasm-bpf -v does not show the kernel's EPERM (%q):\n%s", want, out)
		}
		t.Logf("kernel refused fentry here (EPERM); the user saw: %s", stderr)
		return
	}
	if !regexp.MustCompile(`^EVENT\s+PID\s+COMM\s+NAME$`).MatchString(first) {
		t.Fatalf("unexpected first line %q", first)
	}
	dir := t.TempDir()
	name := fmt.Sprintf("wbfentry-%d", time.Now().UnixNano())
	empty, full := filepath.Join(dir, name), filepath.Join(dir, name+"-full")
	for _, d := range []string{empty, full} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(full, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Rmdir(empty); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Rmdir(full); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Fatalf("rmdir %s: %v, want ENOTEMPTY", full, err)
	}
	pid, q := os.Getpid(), regexp.QuoteMeta(name)
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^ENTER\s+%d\s+\S+\s+%s$`, pid, q)), lineTimeout)
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^EXIT\s+%d\s+\S+\s+%s -> 0$`, pid, q)), lineTimeout)
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^ENTER\s+%d\s+\S+\s+%s-full$`, pid, q)), lineTimeout)
	g.waitFor(regexp.MustCompile(fmt.Sprintf(`^EXIT\s+%d\s+\S+\s+%s-full -> -%d$`, pid, q, int(syscall.ENOTEMPTY))), lineTimeout)
}

// checkRefusal checks what the user of example g saw when the kernel
// refused its programs, which need feature: a non-zero exit, the runtime's
// line naming the cause (loading object), then the guest's own, which
// starts with guest. Where $WASM_BPF_TEST_REQUIRE lists feature, the
// kernel must run them: a refusal fails the test. It returns stderr.
func checkRefusal(t *testing.T, g *guest, feature, object, guest string) string {
	t.Helper()
	code := g.wait(lineTimeout)
	stderr := strings.TrimSpace(g.errText())
	if testenv.Required(feature) {
		t.Fatalf("exited %d without running, on a kernel that must run %s (%s); stderr:\n%s", code, feature, testenv.RequiredEnv, stderr)
	}
	if code == 0 {
		t.Errorf("exited 0 without running; stderr:\n%s", stderr)
	}
	lines := strings.Split(stderr, "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `wasm-bpf: cannot load BPF object "`+object+`": `) ||
		!strings.HasPrefix(lines[1], guest) {
		t.Errorf("want the runtime's line, then %q; got:\n%s", guest, stderr)
	}
	return stderr
}
