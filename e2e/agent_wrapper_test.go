package e2e

import (
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/agent"
)

// TestAgentCallbackNames: a guest whose callback-wrapper poll and callback
// are renamed runs under the agent with the names in its spec, as under
// `run -m -c` (TestCallbackWrapper), and gets its records; without them
// it does not start, and says which import is missing.
func TestAgentCallbackNames(t *testing.T) {
	wasm := guestWasm(t, "wrapper", []string{"events"}, `MOD="cbw-renamed"`, `EXP="my-callback"`)
	a := startAgent(t)
	id := runID()
	g := apiStart(t, a, agent.Spec{ID: "wbagt-cbw-" + id, Module: wasm, Args: []string{"wbr" + id + "stop"},
		WrapperModule: "cbw-renamed", CallbackExport: "my-callback"})
	a.WaitLine(g.ID, readyTimeout, func(l agent.LogLine) bool { return l.Text == "ready" })
	sp := newSpawner(t)
	sp.run("wbr" + id + "0")
	a.WaitLine(g.ID, eventTimeout, func(l agent.LogLine) bool {
		return strings.HasPrefix(l.Text, "event ") && strings.HasSuffix(l.Text, " wbr"+id+"0")
	})
	sp.run("wbr" + id + "stop")
	if s := a.WaitState(g.ID, agent.StateExited, exitTimeout); *s.ExitCode != 0 {
		t.Errorf("%s: exit code %d, want 0; log:\n%s", g.ID, *s.ExitCode, a.Log(g.ID))
	}

	g = apiStart(t, a, agent.Spec{ID: "wbagt-cbwx-" + id, Module: wasm, Args: []string{"wbx" + id + "never"}})
	if s := a.WaitState(g.ID, agent.StateFailed, readyTimeout); !strings.Contains(s.LastError, "cbw-renamed") {
		t.Errorf("%s without the names: last error %q, want the missing import module cbw-renamed named", g.ID, s.LastError)
	}
}
