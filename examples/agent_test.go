package examples_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/agent"
	"github.com/wasm-bpf/wasm-bpf/internal/agenttest"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// probe is an executable of a unique name (a symlink to /bin/true): the
// examples report its path when it is exec'd.
func probe(t *testing.T, name string) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d", name, time.Now().UnixNano()))
	if err := os.Symlink("/bin/true", exe); err != nil {
		t.Fatal(err)
	}
	return exe
}

// hasLine reports whether guest id printed a line containing s.
func hasLine(t *testing.T, a *agenttest.Agent, id, s string) bool {
	for _, l := range a.Lines(id, agent.StreamStdout) {
		if strings.Contains(l.Text, s) {
			return true
		}
	}
	return false
}

func waitLine(t *testing.T, a *agenttest.Agent, id, s string) {
	t.Helper()
	a.WaitLine(id, lineTimeout, func(l agent.LogLine) bool { return l.Stream == agent.StreamStdout && strings.Contains(l.Text, s) })
}

// The agent's API end to end: a C guest, a Go guest and a guest from a
// registry by digest run in one agent; each reports the same exec; a
// paused guest reports nothing until it is resumed, then what it missed;
// a stopped guest is gone from the kernel and the others go on. The CLI
// clients show the same.
func TestAgentAPI(t *testing.T) {
	dir := examplesDir(t)
	cli := tc.CLIT(t)
	home := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	reg := testenv.StartRegistry(t)
	out, err := exec.Command(cli, "push", filepath.Join(dir, "bootstrap", "bootstrap.wasm"), reg.Host+"/examples/bootstrap:v1").CombinedOutput()
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("push printed no digest:\n%s", out)
	}
	digest := m[1]

	a := agenttest.Start(t, cli)
	ctx := agenttest.Ctx(t)
	for _, spec := range []agent.Spec{
		{ID: "execve", Module: filepath.Join(dir, "execve", "execve.wasm")},
		{ID: "go-execve", Module: filepath.Join(dir, "go-execve", "go-execve.wasm")},
		{ID: "bootstrap", Module: reg.Host + "/examples/bootstrap@" + digest, Pull: "always"},
	} {
		if _, err := a.Start(ctx, spec); err != nil {
			t.Fatalf("start %s: %v", spec.ID, err)
		}
	}
	ids := []string{"execve", "go-execve", "bootstrap"}
	for _, id := range ids {
		a.WaitState(id, agent.StateRunning, 2*time.Minute)
		// Every example prints its header once it is attached.
		a.WaitLine(id, lineTimeout, func(l agent.LogLine) bool { return l.Stream == agent.StreamStdout })
	}
	if s, _ := a.Get(ctx, "bootstrap"); s.Digest != digest {
		t.Errorf("bootstrap's digest is %q, want %q", s.Digest, digest)
	}

	exe := probe(t, "wbagent-all")
	spawn(t, exe)
	for _, id := range ids {
		waitLine(t, a, id, exe)
	}

	if _, err := a.Pause(ctx, "execve"); err != nil {
		t.Fatal(err)
	}
	exe = probe(t, "wbagent-paused")
	spawn(t, exe)
	waitLine(t, a, "go-execve", exe)
	time.Sleep(500 * time.Millisecond)
	if hasLine(t, a, "execve", exe) {
		t.Errorf("execve printed %s while paused", exe)
	}
	if _, err := a.Resume(ctx, "execve"); err != nil {
		t.Fatal(err)
	}
	waitLine(t, a, "execve", exe) // held in the kernel, delivered now

	st, err := a.Stop(ctx, "go-execve")
	if err != nil || st.State != agent.StateStopped {
		t.Fatalf("stop go-execve: %+v, %v", st, err)
	}
	if n := a.Metric("wasm_bpf_guest_bpf_objects", "guest", "go-execve"); n != 0 {
		t.Errorf("stopped go-execve holds %v BPF objects", n)
	}
	exe = probe(t, "wbagent-after-stop")
	spawn(t, exe)
	waitLine(t, a, "execve", exe)
	waitLine(t, a, "bootstrap", exe)
	if hasLine(t, a, "go-execve", exe) {
		t.Errorf("stopped go-execve printed %s", exe)
	}

	// The CLI clients say the same.
	ps, err := exec.Command(cli, "ps", "--socket", a.Socket).CombinedOutput()
	if err != nil {
		t.Fatalf("wasm-bpf ps: %v\n%s", err, ps)
	}
	for _, want := range []string{`execve\s+running`, `go-execve\s+stopped`, `bootstrap\s+running`} {
		if !regexp.MustCompile(`(?m)^` + want).Match(ps) {
			t.Errorf("wasm-bpf ps: no line %q:\n%s", want, ps)
		}
	}
	logs, err := exec.Command(cli, "logs", "--socket", a.Socket, "execve").Output()
	if err != nil || !strings.Contains(string(logs), exe) {
		t.Errorf("wasm-bpf logs execve: %v; no %s in:\n%s", err, exe, logs)
	}
	a.Signal(syscall.SIGTERM)
	if code := a.Wait(30 * time.Second); code != 0 {
		t.Errorf("agent exited with %d:\n%s", code, a.Output())
	}
}

var bootstrapEvent = regexp.MustCompile(`^\d\d:\d\d:\d\d (EXEC|EXIT) `)

// After known traffic, the bootstrap guest's delivered-records counter
// equals the events it printed (one line per record).
func TestAgentBootstrapMetrics(t *testing.T) {
	dir := examplesDir(t)
	a := agenttest.Start(t, tc.CLIT(t))
	ctx := agenttest.Ctx(t)
	if _, err := a.Start(ctx, agent.Spec{ID: "bootstrap", Module: filepath.Join(dir, "bootstrap", "bootstrap.wasm")}); err != nil {
		t.Fatal(err)
	}
	a.WaitLine("bootstrap", 2*time.Minute, func(l agent.LogLine) bool { return l.Stream == agent.StreamStdout })
	const n = 20
	exe := probe(t, "wbagent-metrics")
	for range n {
		spawn(t, exe)
	}
	execs := func() int {
		k := 0
		for _, l := range a.Lines("bootstrap", agent.StreamStdout) {
			if strings.Contains(l.Text, " EXEC ") && strings.HasSuffix(l.Text, exe) {
				k++
			}
		}
		return k
	}
	deadline := time.Now().Add(lineTimeout)
	for execs() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d execs printed:\n%s", execs(), n, a.Log("bootstrap"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Paused, the guest takes no more records: what it printed and what
	// it was handed stop moving (other processes exec meanwhile).
	if _, err := a.Pause(ctx, "bootstrap"); err != nil {
		t.Fatal(err)
	}
	printed := func() int {
		k := 0
		for _, l := range a.Lines("bootstrap", agent.StreamStdout) {
			if bootstrapEvent.MatchString(l.Text) {
				k++
			}
		}
		return k
	}
	var p, d int
	deadline = time.Now().Add(lineTimeout)
	for {
		p, d = printed(), int(a.Metric("wasm_bpf_guest_records_delivered_total", "guest", "bootstrap"))
		if p == d && p >= 2*n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bootstrap printed %d events; wasm_bpf_guest_records_delivered_total says %d", p, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("bootstrap printed %d events, of them %d execs of the probe; delivered: %d", p, n, d)
	if polls := a.Metric("wasm_bpf_guest_polls_total", "guest", "bootstrap"); polls < 1 {
		t.Errorf("polls_total %v", polls)
	}
}

// The examples as one agent (examples/agent.yaml): every guest runs and
// /metrics shows their counters.
func TestAgentExamplesFile(t *testing.T) {
	dir := examplesDir(t)
	a := agenttest.Start(t, tc.CLIT(t), "--config", filepath.Join(dir, "agent.yaml"))
	specs, err := agent.ReadFile(filepath.Join(dir, "agent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		a.WaitState(s.ID, agent.StateRunning, 2*time.Minute)
	}
	// Attached: every example prints a first line then.
	for _, id := range []string{"bootstrap", "execve", "go-bootstrap", "go-execve"} {
		a.WaitLine(id, 2*time.Minute, func(l agent.LogLine) bool { return l.Stream == agent.StreamStdout })
	}
	exe := probe(t, "wbagent-examples")
	spawn(t, exe)
	for _, id := range []string{"bootstrap", "execve", "go-bootstrap", "go-execve"} {
		waitLine(t, a, id, exe)
		if n := a.Metric("wasm_bpf_guest_records_delivered_total", "guest", id); n < 1 {
			t.Errorf("%s delivered %v records", id, n)
		}
		if n := a.Metric("wasm_bpf_guest_bpf_links", "guest", id); n < 1 {
			t.Errorf("%s holds %v links", id, n)
		}
	}
	if n := a.Metric("wasm_bpf_guests", "state", "running"); int(n) != len(specs) {
		t.Errorf("wasm_bpf_guests{state=running} = %v, want %d", n, len(specs))
	}
	a.Signal(syscall.SIGTERM)
	if code := a.Wait(30 * time.Second); code != 0 {
		t.Errorf("agent exited with %d:\n%s", code, a.Output())
	}
}
