package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// The batched poll of wasm_bpf_ext (docs/abi.md): refusals, every
// record delivered through ring and perf buffers, with batch buffers from
// roomy to one record at a time (the rest held over, none lost), and
// records cut to fit a buffer smaller than one.
func TestBatchedPoll(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "batch", []string{"events"})
	wantCases := map[string]string{
		"unknown-handle": "-22",
		"hash-fd":        "-22",
		"stdout-fd":      "-22",
		"size-7":         "-22",
		"size-negative":  "-14",
		"past-end":       "-14",
	}
	for _, tt := range []struct {
		mode string
		size int
		n    int
	}{
		{"ring", 64 << 10, 200},
		{"perf", 64 << 10, 200},
		{"ring", 40, 50}, // one 24-byte record (28 framed) per call
		{"perf", 40, 50},
	} {
		t.Run(fmt.Sprintf("%s-%d", tt.mode, tt.size), func(t *testing.T) {
			id := runID()
			g := startCLI(t, nil, wasm, tt.mode, fmt.Sprint(tt.size), "wbb"+id+"stop")
			res := runEventsScenario(t, g, newSpawner(t), "wbb"+id+"n", "wbb"+id+"stop", tt.n)
			t.Logf("%s, buffer %d: %v", tt.mode, tt.size, res)
			got := map[string]string{}
			var done string
			for _, l := range g.stdout.snapshot() {
				if f := strings.Fields(l.text); len(f) == 3 && f[0] == "case" {
					got[f[1]] = f[2]
				}
				if strings.HasPrefix(l.text, "done ") {
					done = l.text
				}
			}
			for name, want := range wantCases {
				if got[name] != want {
					g.errorf("case %s = %q, want %s", name, got[name], want)
				}
			}
			var records, most int
			fmt.Sscanf(done, "done %d %d", &records, &most)
			if tt.size == 40 && most != 1 {
				g.errorf("a 40-byte batch carried %d records, want 1", most)
			}
			t.Logf("most records in one call: %d", most)
		})
	}

	t.Run("cut", func(t *testing.T) {
		id := runID()
		g := startCLI(t, nil, wasm, "ring", "16", "wbb"+id+"stop")
		g.waitLine("ready", readyTimeout)
		sp := newSpawner(t)
		sp.run("wbb" + id + "x")
		// 16 bytes hold a 4-byte size and 12 of the 24 bytes of a record.
		g.waitLine("cut 12", eventTimeout)
	})
}

// Pause and Terminate reach a guest waiting in the batched poll's C path.
func TestBatchedPollPauseAndTerminate(t *testing.T) {
	testenv.RequireBPF(t)
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	wasm := guestWasm(t, "batch", []string{"events"})
	id := runID()
	g, inst := startInstance(t, rt, wasm, "ring", "65536", "wbq"+id+"stop")
	g.waitLine("ready", readyTimeout)
	sp := newSpawner(t)

	inst.Pause()
	var names []string
	for i := range 5 {
		names = append(names, fmt.Sprintf("wbq%s%d", id, i))
		sp.run(names[i])
	}
	time.Sleep(300 * time.Millisecond)
	if got := comms(g, "wbq"+id); len(got) != 0 {
		g.fatalf("paused guest delivered %v", got)
	}
	inst.Resume()
	g.waitFor("the held records", eventTimeout, func([]line) int {
		if len(comms(g, "wbq"+id)) >= len(names) {
			return 0
		}
		return -1
	})
	if got := comms(g, "wbq"+id); strings.Join(got, " ") != strings.Join(names, " ") {
		g.fatalf("after Resume got %v, want %v in that order", got, names)
	}
	start := time.Now()
	inst.Terminate()
	<-inst.Done()
	t.Logf("Terminate while waiting in the batched poll: %v", time.Since(start))
	if _, err := inst.Wait(); !errors.Is(err, host.ErrTerminated) {
		g.fatalf("Wait: %v, want ErrTerminated", err)
	}
}
