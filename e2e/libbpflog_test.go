package e2e

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// libbpf's own output: an embedder that sets no logger gets none of it on
// its stderr, pausing a guest on a perf buffer makes libbpf say nothing,
// and with -v the verifier's log is printed whole, as lines.

// inChild runs the test named name in a child process (the test binary
// again, with WB_CHILD set) and returns the child's stderr: what libbpf
// would print to the embedder's stderr never reaches this process's.
func inChild(t *testing.T, name string, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd.Env = append(append(os.Environ(), "WB_CHILD=1"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child %s: %v\n%s\nstderr:\n%.4000s", name, err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "--- PASS: "+name) {
		t.Fatalf("child %s did not pass:\n%s", name, stdout.String())
	}
	return stderr.String()
}

func childOnly(t *testing.T) {
	if os.Getenv("WB_CHILD") == "" {
		t.Skip("run by its parent test in a child process")
	}
}

// An embedder that sets no libbpf logger gets nothing from libbpf on its
// stderr, not even when a load fails (libbpf's default prints its warnings
// there).
func TestEmbedderGetsNoLibbpfOutput(t *testing.T) {
	testenv.RequireBPF(t)
	// Among its cases, the guest loads an object the verifier refuses.
	wasm := guestWasm(t, "hostile", []string{"events", "reject"})
	if stderr := inChild(t, "TestChildFailedLoad", "WB_WASM="+wasm); stderr != "" {
		t.Errorf("the embedder's stderr got:\n%.4000s", stderr)
	}
}

func TestChildFailedLoad(t *testing.T) {
	childOnly(t)
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	g, inst := startInstance(t, rt, os.Getenv("WB_WASM"), "wbh"+runID()+"stop")
	g.waitLine("case load_verifier_reject 0", readyTimeout)
	g.waitLine("cases done", readyTimeout)
	inst.Terminate()
	<-inst.Done()
}

// Pausing a guest whose perf buffer keeps filling makes libbpf say
// nothing: neither on the embedder's stderr (no logger set) nor in a
// libbpf logger at debug level. libbpf warned "failed to process records
// in buffer" every time the host stopped reading a perf buffer on
// purpose (a pause, a full batch, the guest's stop).
func TestPerfBufferPauseIsQuiet(t *testing.T) {
	testenv.RequireBPF(t)
	// The batched poll with room for one record per call: the host stops
	// reading the perf buffer at every record but the first.
	wasm := guestWasm(t, "batch", []string{"events"})
	for _, logger := range []bool{false, true} {
		t.Run(fmt.Sprintf("logger=%v", logger), func(t *testing.T) {
			stderr := inChild(t, "TestChildPerfPause", "WB_WASM="+wasm, fmt.Sprintf("WB_LOGGER=%v", logger))
			if n := strings.Count(stderr, "failed to process records"); n > 0 || stderr != "" {
				t.Errorf("%d lines of libbpf's about failing to process records; stderr:\n%.4000s", n, stderr)
			}
		})
	}
}

func TestChildPerfPause(t *testing.T) {
	childOnly(t)
	var libbpfLog lockedBuffer
	if os.Getenv("WB_LOGGER") == "true" {
		host.SetLibbpfLogger(slog.New(slog.NewTextHandler(&libbpfLog, &slog.HandlerOptions{Level: slog.LevelDebug})))
		defer host.SetLibbpfLogger(nil)
	}
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	id := runID()
	g, inst := startInstance(t, rt, os.Getenv("WB_WASM"), "perf", "40", "wbq"+id+"stop")
	g.waitLine("ready", readyTimeout)
	sp := newSpawner(t)
	// Execs keep coming while the guest is paused and after it resumes.
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			exec.Command(sp.path(fmt.Sprintf("wbq%s%d", id, i%10))).Run()
		}
	}()
	for range 3 {
		time.Sleep(200 * time.Millisecond)
		inst.Pause()
		time.Sleep(500 * time.Millisecond)
		inst.Resume()
	}
	stop.Store(true)
	<-done
	sp.run("wbq" + id + "stop")
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit %d (%v)", code, g.err)
	}
	if len(comms(g, "wbq"+id)) == 0 {
		g.fatalf("no event delivered")
	}
	if n := strings.Count(libbpfLog.String(), "failed to process records"); n > 0 {
		t.Errorf("libbpf's logger got %d lines about failing to process records:\n%.2000s", n, libbpfLog.String())
	}
}
