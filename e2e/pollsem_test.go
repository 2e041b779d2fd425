package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// TestPollSemantics checks the delivery rules of wasm_bpf_buffer_poll on a
// ring buffer: a record is cut to max_size, a callback result < 0 stops the
// poll and becomes its result, and a poll returns how many records it
// delivered.
func TestPollSemantics(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "pollsem", []string{"events"})
	id := runID()
	sp := newSpawner(t)
	g := startCLI(t, nil, wasm)
	g.waitLine("ready", readyTimeout)

	// Records wait in the ring buffer until the guest is told to poll.
	const k = 5
	want := map[int]string{}
	for i := 0; i < k; i++ {
		name := fmt.Sprintf("wbp%s%d", id, i)
		want[sp.run(name)] = name
	}
	g.sendLine("go")
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit code %d (err %v), want 0", code, g.err)
	}

	seen := map[int]int{}
	stopLines, drains := 0, 0
	for _, l := range g.stdout.snapshot() {
		switch {
		case strings.HasPrefix(l.text, "stop "):
			stopLines++
			var ret, calls, size, pid int
			if _, err := fmt.Sscanf(l.text, "stop ret=%d calls=%d size=%d pid=%d", &ret, &calls, &size, &pid); err != nil {
				g.fatalf("bad line %q: %v", l.text, err)
			}
			if ret != -42 || calls != 1 || size != 8 {
				g.errorf("poll with a callback returning -42 and max_size 8: result %d, %d callback calls, record size %d; want -42, 1, 8", ret, calls, size)
			}
			seen[pid]++
		case strings.HasPrefix(l.text, "drain "):
			drains++
			var ret, calls int
			if _, err := fmt.Sscanf(l.text, "drain ret=%d calls=%d", &ret, &calls); err != nil {
				g.fatalf("bad line %q: %v", l.text, err)
			}
			if ret != calls {
				g.errorf("a poll returned %d but delivered %d records (%q)", ret, calls, l.text)
			}
		}
	}
	if stopLines != 1 || drains == 0 {
		g.fatalf("want one stop line and at least one drain line")
	}
	for _, ev := range parseEvents(g.stdout.snapshot()) {
		seen[ev.pid]++
	}
	for pid, name := range want {
		if seen[pid] == 0 {
			g.errorf("the record of %s (pid %d) was never delivered", name, pid)
		}
	}
}
