package sdk

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	for _, l := range Languages {
		t.Run(l.Name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "my-tool")
			wrote, err := New(dir, "my-tool", l.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"Makefile", "my-tool.bpf.c"} {
				if !slices.Contains(wrote, want) {
					t.Errorf("%s not written: %v", want, wrote)
				}
			}
			for _, f := range wrote {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(b), "__NAME__") || strings.Contains(string(b), "__IDENT__") || strings.HasSuffix(f, ".tmpl") || strings.HasSuffix(f, "_test.go") {
					t.Errorf("%s: a placeholder or suffix left", f)
				}
			}
			if l.Name == "c" && !strings.Contains(read(t, dir, "my-tool.c"), "my_tool_bpf__open_and_load()") {
				t.Error("the C guest does not call the skeleton by its C name")
			}
			if l.Name == "rust" {
				// The crate beside the tool, where its Cargo.toml finds it.
				for _, want := range []string{"src/main.rs", "wasm-bpf/Cargo.toml", "wasm-bpf/src/lib.rs", "wasm-bpf/src/sys.rs"} {
					if !slices.Contains(wrote, want) {
						t.Errorf("%s not written: %v", want, wrote)
					}
				}
				if c := read(t, dir, "Cargo.toml"); !strings.Contains(c, `name = "my-tool"`) || !strings.Contains(c, `wasm-bpf = { path = "wasm-bpf" }`) {
					t.Errorf("Cargo.toml:\n%s", c)
				}
			}
			if _, err := New(dir, "my-tool", l.Name); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Errorf("over a tool: %v", err)
			}
		})
	}
	for _, tt := range []struct{ name, lang, err string }{
		{"1tool", "c", "want a letter"},
		{"a/b", "c", "want a letter"},
		{"tool", "cobol", `language "cobol": want one of c, go, rust`},
	} {
		if _, err := New(filepath.Join(t.TempDir(), "x"), tt.name, tt.lang); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("New(%q, %q) = %v, want %q", tt.name, tt.lang, err, tt.err)
		}
	}
}

func read(t *testing.T, dir, f string) string {
	b, err := os.ReadFile(filepath.Join(dir, f))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
