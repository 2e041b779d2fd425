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
// of the three polls as the nested one, ring and perf buffers.
func TestPollFromOwnCallback(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "reentry", []string{"events"})
	for _, kind := range []string{"ring", "perf"} {
		t.Run(kind, func(t *testing.T) {
			id := runID()
			sp := newSpawner(t)
			g := startCLI(t, nil, wasm, kind)
			for _, outer := range []string{"table", "wrapper"} {
				for _, inner := range []string{"table", "wrapper", "batch"} {
					c := outer + "-" + inner
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
					var innerRet, delivered, ret int
					text := g.stdout.snapshot()[i].text
					if _, err := fmt.Sscanf(text, "case "+c+" inner=%d delivered=%d ret=%d", &innerRet, &delivered, &ret); err != nil {
						g.fatalf("bad line %q: %v", text, err)
					}
					if innerRet != -16 || delivered < 3 || ret != delivered {
						g.errorf("%s: nested poll %d, outer poll delivered %d and returned %d; want -16 (EBUSY), at least 3, the same", c, innerRet, delivered, ret)
					}
				}
			}
			g.waitLine("done", eventTimeout)
			if code := g.waitExit(exitTimeout); code != 0 {
				g.fatalf("exit code %d, want 0", code)
			}
		})
	}
}
