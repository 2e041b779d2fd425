package examples_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// TestGenRust runs `wasm-bpf gen rust` on every example's object, and on
// runqlat's task_struct (a kernel type of every shape: nested and
// anonymous structs and unions, bitfields, arrays, pointers, enums), and
// checks the output for wasm32-wasi as one crate (cargo check evaluates
// the layout checks): it must compile, and they must hold.
func TestGenRust(t *testing.T) {
	dir := examplesDir(t)
	rust := testenv.RustT(t)
	cli := tc.CLIT(t)
	objs, err := filepath.Glob(filepath.Join(dir, "*", "*.bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{} // the Go and Rust examples reuse the C ones' objects
	for _, o := range objs {
		if !strings.HasSuffix(o, ".tmp.bpf.o") {
			byName[strings.TrimSuffix(filepath.Base(o), ".bpf.o")] = o
		}
	}
	if len(byName) < 8 {
		t.Fatalf("only %d example objects: %v", len(byName), objs)
	}
	crate := filepath.Join(t.TempDir(), "gen")
	if err := os.MkdirAll(filepath.Join(crate, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	sdk := filepath.Join(tc.RepoRoot(), "sdk", "rust")
	cargo := fmt.Sprintf("[package]\nname = \"gen-all\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\npath = \"src/lib.rs\"\n\n[dependencies]\nwasm-bpf = { path = %q }\n", sdk)
	if err := os.WriteFile(filepath.Join(crate, "Cargo.toml"), []byte(cargo), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := func(mod string, args ...string) {
		out, err := exec.Command(cli, append([]string{"gen", "rust"}, args...)...).Output()
		if err != nil {
			t.Fatalf("wasm-bpf gen rust %s: %v", strings.Join(args, " "), err)
		}
		if err := os.WriteFile(filepath.Join(crate, "src", mod+".rs"), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var mods []string
	for name, o := range byName {
		mod := strings.ReplaceAll(name, "-", "_")
		gen(mod, o)
		mods = append(mods, mod)
	}
	gen("task_struct", byName["runqlat"], "task_struct")
	mods = append(mods, "task_struct")
	sort.Strings(mods)
	lib := ""
	for _, m := range mods {
		lib += "pub mod " + m + ";\n"
	}
	if err := os.WriteFile(filepath.Join(crate, "src", "lib.rs"), []byte(lib), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rust.CheckWasm(crate, filepath.Join(t.TempDir(), "target")); err != nil {
		t.Fatalf("the generated modules (%s): %v", strings.Join(mods, ", "), err)
	}
	t.Logf("checked for wasm32-wasi: %s", strings.Join(mods, ", "))
}
