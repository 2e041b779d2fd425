package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// A guest's poll counters (host.Instance.Stats) count what its polls,
// served in C (host/internal/cabi), deliver: polls that deliver nothing
// count as polls and no record; then every record the guest's callbacks
// received, ring and perf buffer, and nothing else. The guest is the
// agent tests' flood guest, whose program sends a record to each buffer
// on getpgid(agentMagic) only.
func TestStatsCountDeliveries(t *testing.T) {
	testenv.RequireBPF(t)
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	g, inst := startInstance(t, rt, agentWasm(t), "flood")
	g.waitLine("ready", readyTimeout)

	// It polls each buffer every 50 ms; nothing is sent.
	deadline := time.Now().Add(eventTimeout)
	for s := inst.Stats(); s.Polls < 10; s = inst.Stats() {
		if time.Now().After(deadline) {
			g.fatalf("stats after %v of polls: %+v, want at least 10 polls", eventTimeout, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := inst.Stats(); s.Records != 0 || s.PerfLost != 0 {
		g.fatalf("stats of polls that delivered nothing: %+v, want no record", s)
	}

	const sent = 3
	for i := range sent {
		flood(t, 1)
		g.waitLine("rb "+strconv.Itoa(i+1), eventTimeout)
		g.waitLine("pb "+strconv.Itoa(i+1), eventTimeout)
	}
	printed := 0
	for _, l := range g.stdout.snapshot() {
		if strings.HasPrefix(l.text, "rb ") || strings.HasPrefix(l.text, "pb ") {
			printed++
		}
	}
	if s := inst.Stats(); s.Records != 2*sent || printed != 2*sent {
		g.fatalf("after %d records to each buffer: stats %+v (the guest printed %d counts), want %d records", sent, s, printed, 2*sent)
	}
	inst.Terminate()
	inst.Wait()
	if s := inst.Stats(); s.Records != 2*sent || s.Polls == 0 {
		g.fatalf("stats of the ended guest: %+v, want the %d records and its polls kept", s, 2*sent)
	}
}
