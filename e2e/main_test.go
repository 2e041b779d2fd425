// Package e2e runs wasm-bpf guests against the real kernel: C guests and BPF
// programs from testdata/ are compiled by the test itself (never committed
// as binaries), run through the wasm-bpf CLI or the host package, and
// observed from outside (their output, the processes the test spawns, and
// the BPF objects their processes hold: bpfobjs_test.go).
package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// tc builds the BPF objects, the guests and the CLI, once for the whole test
// binary.
var tc *testenv.Toolchain

func TestMain(m *testing.M) {
	var err error
	tc, err = testenv.NewToolchain("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: toolchain:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := tc.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: removing the toolchain's files:", err)
	}
	os.Exit(code)
}
