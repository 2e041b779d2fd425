// Package sdk holds what `wasm-bpf new` writes: the templates of a new
// tool, one directory per language under templates/, and the guest SDKs
// of this version of wasm-bpf (c/, go/wasmbpf and the crate of rust/),
// embedded in the binary so that a tool can be started anywhere with
// nothing but the installed wasm-bpf, and builds against the SDK it runs
// with.
//
// In a template, file names and contents say __NAME__ for the tool's
// name and __IDENT__ for it as a C identifier; a file name ending in
// .tmpl loses that suffix (go.mod and .go files of a template must not
// be seen as part of this module).
package sdk

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

//go:embed all:templates c/*.h go/wasmbpf/*.go rust/Cargo.toml rust/src/*.rs
var files embed.FS

// Language is a language a new tool can be written in.
type Language struct {
	Name  string // its --lang, and its template's directory under templates/
	Usage string
	// SDK are the SDK directories of this module written into the tool:
	// embedded directory -> directory in the tool.
	SDK map[string]string
}

// Languages are the languages of `wasm-bpf new`; a new one is its
// template directory and an entry here.
var Languages = []Language{
	{Name: "c", Usage: "a C guest (clang --target=wasm32-wasi) on sdk/c/libbpf-wasm.h, a Makefile", SDK: map[string]string{"c": "include"}},
	{Name: "go", Usage: "a Go guest (GOOS=wasip1, Go 1.24+) on sdk/go/wasmbpf, a Makefile and a go.mod", SDK: map[string]string{"go/wasmbpf": "wasm-bpf/sdk/go/wasmbpf"}},
	// No crate registry serves the crate: the tool's Cargo.toml finds it
	// by path.
	{Name: "rust", Usage: "a Rust guest (Debian's rustc 1.63+ and cargo, wasm32-wasi) on the crate of sdk/rust, a Makefile and a Cargo.toml", SDK: map[string]string{"rust": "wasm-bpf"}},
}

// LanguageNames lists the languages' names.
func LanguageNames() []string {
	var names []string
	for _, l := range Languages {
		names = append(names, l.Name)
	}
	return names
}

var validName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// New writes the skeleton of a tool called name in lang into dir, which
// must not exist or be empty, and returns the files it wrote, relative to
// dir.
func New(dir, name, lang string) ([]string, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("tool name %q: want a letter, then letters, digits, - or _", name)
	}
	i := slices.IndexFunc(Languages, func(l Language) bool { return l.Name == lang })
	if i < 0 {
		return nil, fmt.Errorf("language %q: want one of %s", lang, strings.Join(LanguageNames(), ", "))
	}
	l := Languages[i]
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s exists and is not empty", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	subst := strings.NewReplacer("__NAME__", name, "__IDENT__", strings.ReplaceAll(name, "-", "_"))
	var wrote []string
	write := func(rel string, data []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		wrote = append(wrote, rel)
		return nil
	}
	// copyTree writes the files under from, in the embedded tree, into
	// the tool at to: their names through rename, their contents through
	// edit.
	copyTree := func(from, to string, rename, edit func(string) string) error {
		return fs.WalkDir(files, from, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
				return err
			}
			data, err := files.ReadFile(p)
			if err != nil {
				return err
			}
			return write(path.Join(to, rename(strings.TrimPrefix(p, from+"/"))), []byte(edit(string(data))))
		})
	}
	template := func(s string) string { return strings.TrimSuffix(subst.Replace(s), ".tmpl") }
	if err := copyTree(path.Join("templates", l.Name), ".", template, subst.Replace); err != nil {
		return nil, err
	}
	same := func(s string) string { return s }
	for from, to := range l.SDK {
		if err := copyTree(from, to, same, same); err != nil {
			return nil, err
		}
	}
	slices.Sort(wrote)
	return wrote, nil
}
