package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// A poll of a buffer from inside that buffer's own callback, with more
// records pending, is refused with -EBUSY and the outer poll delivers the
// rest: for the table and callback-wrapper polls as the outer poll, each
// of the three polls as the nested one, ring and perf buffers. Then an
// object closed from inside its own poll's callback: the poll delivers the
// rest, and the object leaves the kernel when the poll returns, while the
// guest still runs.
func TestPollFromOwnCallback(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "reentry", []string{"reentry"})
	for _, kind := range []string{"ring", "perf"} {
		t.Run(kind, func(t *testing.T) {
			id := runID()
			sp := newSpawner(t)
			g := startCLI(t, nil, wasm, kind)
			// round runs one poll with three records pending and returns its
			// "case" line's numbers.
			round := func(c string) (inner, delivered, ret int) {
				g.waitLine("ready "+c, readyTimeout)
				for i := 0; i < 3; i++ {
					sp.run(fmt.Sprintf("wbr%s%d", id, i))
				}
				g.sendLine("go")
				i := g.waitFor("case "+c, eventTimeout, func(ls []line) int {
					for i, l := range ls {
						if strings.HasPrefix(l.text, "case "+c+" ") {
							return i
						}
					}
					return -1
				})
				text := g.stdout.snapshot()[i].text
				if _, err := fmt.Sscanf(text, "case "+c+" inner=%d delivered=%d ret=%d", &inner, &delivered, &ret); err != nil {
					g.fatalf("bad line %q: %v", text, err)
				}
				return inner, delivered, ret
			}
			for _, outer := range []string{"table", "wrapper"} {
				for _, nested := range []string{"table", "wrapper", "batch"} {
					c := outer + "-" + nested
					inner, delivered, ret := round(c)
					if inner != -16 || delivered < 3 || ret != delivered {
						g.errorf("%s: nested poll %d, outer poll delivered %d and returned %d; want -16 (EBUSY), at least 3, the same", c, inner, delivered, ret)
					}
				}
			}

			prog := "wbre_exec_" + kind[:1] + "b"
			held := g.held()
			if len(named(held.progs, prog)) != 1 {
				g.fatalf("the guest holds %s, want its program %s", held, prog)
			}
			closed, delivered, ret := round("close")
			if closed != 0 || delivered < 3 || ret != delivered {
				g.errorf("close from a callback returned %d; the poll delivered %d and returned %d; want 0, at least 3, the same", closed, delivered, ret)
			}
			g.waitLine("closed", eventTimeout)
			// Its one object closed, the guest holds nothing, and what it held
			// leaves the kernel while it runs.
			assertGone(t, g, held)
			if g.ended() {
				g.fatalf("the guest ended before the check")
			}
			g.sendLine("end")
			if code := g.waitExit(exitTimeout); code != 0 {
				g.fatalf("exit code %d, want 0", code)
			}
		})
	}
}
