package e2e

import (
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// TestCallbackWrapper: a guest that imports wasm_bpf_buffer_poll from the
// "callback-wrapper" module (no table index) and exports its callback gets
// every record; the module and export names can be renamed with -m/-c.
func TestCallbackWrapper(t *testing.T) {
	testenv.RequireBPF(t)

	t.Run("default-names", func(t *testing.T) {
		wasm := guestWasm(t, "wrapper", []string{"events"})
		id := runID()
		g := startCLI(t, nil, wasm, "wbw"+id+"stop")
		res := runEventsScenario(t, g, newSpawner(t), "wbw"+id, "wbw"+id+"stop", eventsN)
		checkWrapperCases(g)
		t.Logf("callback-wrapper, %d processes: %s", eventsN, res)
	})

	renamed := func(t *testing.T) string {
		return guestWasm(t, "wrapper", []string{"events"}, `MOD="cbw-renamed"`, `EXP="my-callback"`)
	}

	t.Run("renamed-with-flags", func(t *testing.T) {
		wasm := renamed(t)
		id := runID()
		g := startCLI(t, []string{"-m", "cbw-renamed", "-c", "my-callback"}, wasm, "wbr"+id+"stop")
		res := runEventsScenario(t, g, newSpawner(t), "wbr"+id, "wbr"+id+"stop", eventsN)
		checkWrapperCases(g)
		t.Logf("renamed callback-wrapper, %d processes: %s", eventsN, res)
	})

	t.Run("renamed-without-flags", func(t *testing.T) {
		wasm := renamed(t)
		g := startCLI(t, nil, wasm, "wbxnever")
		if code := g.waitExit(exitTimeout); code != 1 {
			g.fatalf("exit code %d, want 1 (missing import)", code)
		}
		msg := g.stderr.String() + g.stdout.String()
		if !strings.Contains(msg, "cbw-renamed") {
			g.fatalf("the error does not name the missing import module cbw-renamed")
		}
		if strings.Contains(g.stdout.String(), "ready") {
			g.fatalf("the guest ran although an import is missing")
		}
	})
}

// TestCallbackWrapperMissingExport: when the configured callback export does
// not exist, the wrapper poll returns -EINVAL (abi.md) instead of crashing;
// the guest reports it and exits 1.
func TestCallbackWrapperMissingExport(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "wrapper", []string{"events"})
	g := startCLI(t, []string{"-c", "no-such-export"}, wasm, "wbxnever")
	if code := g.waitExit(exitTimeout); code != 1 {
		g.fatalf("exit code %d, want 1 (the guest dies on the poll error)", code)
	}
	if want := "wasm_bpf_buffer_poll: -22"; !strings.Contains(g.stderr.String(), want) {
		g.fatalf("stderr lacks %q", want)
	}
}

// checkWrapperCases checks the "case" lines of wrapper.c: the wrapper poll
// validates its arguments as the wasm_bpf poll does.
func checkWrapperCases(g *guest) {
	g.t.Helper()
	want := map[string]string{
		"wrap_poll_unknown_handle": "-22",
		"wrap_poll_hash_fd":        "-22",
		"wrap_poll_data_oob":       "-14",
		"wrap_poll_max_size_neg":   "-14",
	}
	for name, v := range want {
		if line := "case " + name + " " + v; !hasLine(g, line) {
			g.errorf("missing the line %q", line)
		}
	}
}
