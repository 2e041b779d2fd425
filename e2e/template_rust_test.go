package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/sdk"
)

// TestRustTemplate: a new Rust tool (sdk.New, what wasm-bpf new --lang
// rust writes; TestNewTool runs that) builds with its own Makefile and,
// run as `wasm-bpf NAME.wasm -p PID`, reports the execs of that process's
// children only: the filter the guest sets in .rodata before load, through
// gen rust's set_target_ppid, reaches the kernel.
func TestRustTemplate(t *testing.T) {
	testenv.RequireBPF(t)
	testenv.RustT(t)
	cli := tc.CLIT(t)
	name := "wbtpl" + runID()
	dir := filepath.Join(t.TempDir(), name)
	if _, err := sdk.New(dir, name, "rust"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "WASM_BPF="+cli)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make in a new Rust tool: %v\n%s", err, out)
	}
	g := startCLI(t, nil, filepath.Join(dir, name+".wasm"), "-p", strconv.Itoa(os.Getpid()))
	g.waitFor("the header", readyTimeout, func(ls []line) int {
		for i, l := range ls {
			if regexp.MustCompile(`^PID\s+PPID\s+COMM\s+FILENAME$`).MatchString(l.text) {
				return i
			}
		}
		return -1
	})
	sp := newSpawner(t)
	child := "wbt" + runID()
	pid := sp.run(child)
	re := regexp.MustCompile(fmt.Sprintf(`^%d\s+%d\s+%s\s+%s$`, pid, os.Getpid(), child, regexp.QuoteMeta(sp.path(child))))
	g.waitFor("the child's exec", eventTimeout, func(ls []line) int {
		for i, l := range ls {
			if re.MatchString(l.text) {
				return i
			}
		}
		return -1
	})
	for _, l := range g.stdout.snapshot() {
		if f := regexp.MustCompile(`^\d+\s+(\d+)\s`).FindStringSubmatch(l.text); f != nil && f[1] != strconv.Itoa(os.Getpid()) {
			g.fatalf("-p %d let through %q", os.Getpid(), l.text)
		}
	}
}
