// Package sdk holds what `wasm-bpf new` writes: the templates of a new
// tool, one directory per language under templates/, and the guest SDKs
// of this version of wasm-bpf (c/ and go/wasmbpf), embedded in the binary
// so that a tool can be started anywhere with nothing but the installed
// wasm-bpf, and builds against the SDK it runs with.
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

//go:embed all:templates c/*.h go/wasmbpf/*.go
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
	root := path.Join("templates", l.Name)
	err := fs.WalkDir(files, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(subst.Replace(strings.TrimPrefix(p, root+"/")), ".tmpl")
		return write(rel, []byte(subst.Replace(string(data))))
	})
	if err != nil {
		return nil, err
	}
	for from, to := range l.SDK {
		entries, err := files.ReadDir(from)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			data, err := files.ReadFile(path.Join(from, e.Name()))
			if err != nil {
				return nil, err
			}
			if err := write(path.Join(to, e.Name()), data); err != nil {
				return nil, err
			}
		}
	}
	slices.Sort(wrote)
	return wrote, nil
}
