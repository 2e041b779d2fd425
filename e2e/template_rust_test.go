package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"text/template"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/sdk/rust"
)

// newRustTool writes what `wasm-bpf new --lang rust NAME DIR` writes: the
// files of sdk/templates/rust rendered for name, and the SDK crate in
// DIR/wasm-bpf.
func newRustTool(t *testing.T, name, dir string) {
	t.Helper()
	tmpl := os.DirFS(filepath.Join(tc.RepoRoot(), "sdk", "templates", "rust"))
	err := fs.WalkDir(tmpl, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := fs.ReadFile(tmpl, p)
		if err != nil {
			return err
		}
		tp, err := template.New(p).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := tp.Execute(&out, struct{ Name string }{name}); err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, p), out.Bytes())
	})
	if err != nil {
		t.Fatalf("render sdk/templates/rust: %v", err)
	}
	err = fs.WalkDir(rust.Crate, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(rust.Crate, p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, "wasm-bpf", p), b)
	})
	if err != nil {
		t.Fatalf("write the SDK crate: %v", err)
	}
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// TestRustTemplate: a new Rust tool, as wasm-bpf new writes it, builds with
// its own Makefile (`make`) and, run as `wasm-bpf NAME.wasm`, reports the
// execs of the test's children.
func TestRustTemplate(t *testing.T) {
	testenv.RequireBPF(t)
	testenv.RustT(t)
	cli := tc.CLIT(t)
	name := "wbtpl" + runID()
	dir := filepath.Join(t.TempDir(), name)
	newRustTool(t, name, dir)
	cmd := exec.Command("make", "WASM_BPF="+cli)
	cmd.Dir = dir
	// bpftool lives in sbin, which a test's PATH may lack.
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin")
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
