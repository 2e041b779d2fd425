package e2e

import (
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// eventsN is how many processes each events scenario spawns.
const eventsN = 200

// TestEvents: a guest attaches a tracepoint program on sched_process_exec
// that sends (pid, ppid, comm) records through a ring buffer or a perf event
// array; every one of eventsN processes the test spawns must be reported.
func TestEvents(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "events", []string{"events"})
	for _, mode := range []string{"ring", "perf"} {
		t.Run("cli-"+mode, func(t *testing.T) {
			id := runID()
			prefix, stop := "wbe"+id, "wbe"+id+"stop"
			sp := newSpawner(t)
			g := startCLI(t, nil, wasm, mode, stop)
			res := runEventsScenario(t, g, sp, prefix, stop, eventsN)
			if !hasLine(g, "close 0") {
				g.fatalf(`missing the guest's last line "close 0"`)
			}
			t.Logf("CLI %s, %d processes: %s", mode, eventsN, res)
		})
	}
	// The same guest through the Go embedding API, in this process.
	t.Run("inprocess-ring", func(t *testing.T) {
		id := runID()
		prefix, stop := "wbi"+id, "wbi"+id+"stop"
		sp := newSpawner(t)
		g := startInProcess(t, wasm, "ring", stop)
		res := runEventsScenario(t, g, sp, prefix, stop, eventsN)
		// Everything the guest wrote reaches Stdout before Run returns.
		if !hasLine(g, "close 0") {
			g.fatalf(`host.Run returned before the guest's last line "close 0" reached Stdout`)
		}
		if g.err != nil {
			g.fatalf("host.Run returned %v, want nil", g.err)
		}
		t.Logf("in-process ring, %d processes: %s", eventsN, res)
	})
}
