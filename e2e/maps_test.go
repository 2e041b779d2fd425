package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// TestMaps: the guest writes the test's pid into an ARRAY map that the BPF
// program uses as a filter (count execs per comm, only of the test's own
// children), then on a stdin line iterates the HASH map of counts
// (get-next-key from key 0, lookup), updates a new key, deletes one and
// iterates again.
func TestMaps(t *testing.T) {
	testenv.RequireBPF(t)
	runMapsScenario(t, guestWasm(t, "maps", []string{"maps"}))
}

// runMapsScenario runs `wasm [args...] PID NEWKEY DELKEY` (testdata/maps.c's
// protocol) and checks what it printed.
func runMapsScenario(t *testing.T, wasm string, args ...string) {
	id := runID()
	a, b, grand, newKey := "wbm"+id+"a", "wbm"+id+"b", "wbm"+id+"g", "wbm"+id+"new"
	const nA, nB, nSh = 5, 3, 2

	sp := newSpawner(t)
	g := startCLI(t, nil, wasm, append(args, strconv.Itoa(os.Getpid()), newKey, a)...)
	g.waitLine("ready", readyTimeout)
	if want := fmt.Sprintf("filter 0 %d", os.Getpid()); !hasLine(g, want) {
		g.fatalf("missing line %q (the filter written and read back)", want)
	}

	// Children of the test: counted.
	for i := 0; i < nA; i++ {
		sp.run(a)
	}
	for i := 0; i < nB; i++ {
		sp.run(b)
	}
	// Grandchildren (children of sh): not counted; each sh is a child.
	gp := sp.path(grand)
	for i := 0; i < nSh; i++ {
		// The trailing ':' keeps sh from exec'ing the last command itself.
		if out, err := exec.Command("sh", "-c", gp+"; "+gp+"; :").CombinedOutput(); err != nil {
			t.Fatalf("sh: %v %s", err, out)
		}
	}

	g.sendLine("dump")
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit code %d (err %v), want 0", code, g.err)
	}

	ls := g.stdout.snapshot()
	first, rest := countsUntil(g, ls, "end first")
	wantFirst := map[string]uint64{a: nA, b: nB, "sh": nSh}
	if !reflect.DeepEqual(first, wantFirst) {
		g.fatalf("first iteration: counts %v, want %v (the grandchild %s must be absent)", first, wantFirst, grand)
	}
	ops := []string{"update 0", "lookup 0 42", "delete 0", "lookup_deleted -2"}
	if len(rest) < len(ops) {
		g.fatalf("missing the operation lines %q", ops)
	}
	for i, want := range ops {
		if rest[i].text != want {
			g.fatalf("operation line %d is %q, want %q", i, rest[i].text, want)
		}
	}
	after, tail := countsUntil(g, rest[len(ops):], "end after")
	wantAfter := map[string]uint64{b: nB, "sh": nSh, newKey: 42}
	if !reflect.DeepEqual(after, wantAfter) {
		g.fatalf("second iteration: counts %v, want %v", after, wantAfter)
	}
	if len(tail) == 0 || tail[0].text != "close 0" {
		g.fatalf("missing %q after the iterations", "close 0")
	}
}

func hasLine(g *guest, text string) bool {
	for _, l := range g.stdout.snapshot() {
		if l.text == text {
			return true
		}
	}
	return false
}

// countsUntil reads the "count <comm> <n>" lines up to the line end, and
// returns them and the lines after end. Any other line is an error.
func countsUntil(g *guest, ls []line, end string) (map[string]uint64, []line) {
	g.t.Helper()
	counts := map[string]uint64{}
	start := -1
	for i, l := range ls {
		if strings.HasPrefix(l.text, "count ") {
			start = i
			break
		}
		if l.text == end {
			return counts, ls[i+1:]
		}
		if strings.Contains(l.text, "_error") {
			g.fatalf("map iteration error: %q", l.text)
		}
	}
	if start < 0 {
		g.fatalf("no %q line", end)
	}
	for i := start; i < len(ls); i++ {
		text := ls[i].text
		if text == end {
			return counts, ls[i+1:]
		}
		f := strings.Fields(text)
		if len(f) != 3 || f[0] != "count" {
			g.fatalf("unexpected line %q in the iteration before %q", text, end)
		}
		n, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			g.fatalf("bad count line %q", text)
		}
		if _, dup := counts[f[1]]; dup {
			g.fatalf("key %s returned twice by the iteration", f[1])
		}
		counts[f[1]] = n
	}
	g.fatalf("no %q line", end)
	return nil, nil
}
