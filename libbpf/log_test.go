package libbpf

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// The verifier's log of a refused program reaches the logger whole: its
// last lines, which say why, come after many kilobytes of trace.
func TestVerifierLogWhole(t *testing.T) {
	testenv.RequireBPF(t)
	tc, err := testenv.NewToolchain("")
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	obj, err := os.ReadFile(tc.BPFObjectT(t, filepath.Join("..", "e2e", "testdata", "reject.bpf.c")))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	SetLogger(slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer SetLogger(nil)

	o, err := Open("wbrej", obj, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Load(); err == nil {
		t.Fatal("the verifier accepted reject.bpf.c")
	}
	for _, l := range strings.Split(log.String(), "\n") {
		if !strings.Contains(l, "-- BEGIN PROG LOAD LOG --") {
			continue
		}
		if len(l) <= 1024 {
			t.Errorf("the verifier log is only %d bytes: %s", len(l), l)
		}
		// The kernel's verdict on the read past the context.
		for _, want := range []string{"invalid bpf_context access", "-- END PROG LOAD LOG --"} {
			if !strings.Contains(l, want) {
				t.Errorf("the verifier log lacks %q: ...%s", want, l[max(0, len(l)-300):])
			}
		}
		return
	}
	t.Fatalf("no verifier log in:\n%s", log.String())
}
