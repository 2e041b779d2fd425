package gen

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// The generated Go compiles for GOOS=wasip1 (its compile-time layout
// checks hold) and the generated C for wasm32-wasi (its _Static_asserts
// hold), alone and beside the libc headers a guest includes, for every
// shape of record (testdata/shapes.bpf.c), every example's object, and
// the types of the running kernel.

var corpusAll = flag.Bool("corpus-all", false, "compile the Go of every type of the kernel's BTF, not a sample")

func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Unavailable(t, "%s: %v", name, err)
	}
	return p
}

func goTool(t *testing.T) string {
	t.Helper()
	if p := filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return lookTool(t, "go")
}

// goModule makes a module in a new directory whose packages are pkgs
// (directory -> file name -> source), with the SDK of this repository,
// and runs the go command with args in it.
func goModule(t *testing.T, pkgs map[string]map[string][]byte, env []string, args ...string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	sum, _ := os.ReadFile(filepath.Join(root, "go.sum"))
	os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644)
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module gentest\n\ngo 1.24\n\nrequire github.com/wasm-bpf/wasm-bpf v0.0.0\n\nreplace github.com/wasm-bpf/wasm-bpf => "+root+"\n"), 0o644)
	for dir, files := range pkgs {
		os.MkdirAll(filepath.Join(mod, dir), 0o755)
		for name, src := range files {
			os.WriteFile(filepath.Join(mod, dir, name), src, 0o644)
		}
	}
	cmd := exec.Command(goTool(t), args...)
	cmd.Dir = mod
	cmd.Env = append(append(os.Environ(), "GOFLAGS=-mod=mod"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%.8000s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// compileC compiles src for wasm32-wasi (-fsyntax-only: every
// _Static_assert is evaluated) with the C SDK's headers at hand.
func compileC(t *testing.T, name string, files map[string][]byte, src string) {
	t.Helper()
	clang := lookTool(t, "clang")
	dir := t.TempDir()
	for n, b := range files {
		os.WriteFile(filepath.Join(dir, n), b, 0o644)
	}
	main := filepath.Join(dir, name+".c")
	os.WriteFile(main, []byte(src), 0o644)
	sdk, _ := filepath.Abs("../c")
	cmd := exec.Command(clang, "--target=wasm32-wasi", "-Wall", "-Werror", "-Wno-unused-function", "-fsyntax-only", "-ferror-limit=20", "-I"+sdk, "-I"+dir, main)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: the generated C does not compile for wasm32: %v\n%.8000s", name, err, out)
	}
}

// libcIncludes are the libc headers of a typical guest, included before
// the generated ones.
func libcIncludes() string {
	var b strings.Builder
	for _, h := range libcHeaders {
		fmt.Fprintf(&b, "#include <%s>\n", h)
	}
	return b.String()
}

// testObjects are the objects the generators are tried on: shapes.bpf.c
// and every example's, compiled once per test binary, by name.
func testObjects(t *testing.T) map[string]*Object {
	t.Helper()
	objs, err := compiledObjects()
	if err != nil {
		var missing *testenv.ToolMissingError
		if errors.As(err, &missing) {
			testenv.Unavailable(t, "%v", err)
		}
		t.Fatal(err)
	}
	return objs
}

var compiledObjects = sync.OnceValues(func() (map[string]*Object, error) {
	tc, err := testenv.NewToolchain("")
	if err != nil {
		return nil, err
	}
	defer tc.Close()
	srcs := map[string][]string{"shapes": {"testdata/shapes.bpf.c"}}
	examples, _ := filepath.Glob("../../examples/*/*.bpf.c")
	if len(examples) == 0 {
		return nil, errors.New("no example's BPF source found")
	}
	for _, src := range examples {
		name := strings.TrimSuffix(filepath.Base(src), ".bpf.c")
		srcs[name] = []string{src}
		if name == "uprobe" {
			srcs[name] = append(srcs[name], `TARGET_PATH="/bin/true"`)
		}
	}
	objs := map[string]*Object{}
	for name, s := range srcs {
		path, err := tc.BPFObject(s[0], s[1:]...)
		if err != nil {
			return nil, err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if objs[name], err = LoadObject(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return objs, nil
})

func TestGeneratedCodeCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go and C")
	}
	objs := testObjects(t)
	pkgs := map[string]map[string][]byte{}
	for name, o := range objs {
		var goSrc, hdr, skel bytes.Buffer
		if err := WriteGo(&goSrc, o, name+".bpf.o", "main", nil); err != nil {
			t.Fatalf("gen go %s: %v", name, err)
		}
		pkgs[name] = map[string][]byte{"bpf.go": goSrc.Bytes(), "main.go": []byte("package main\n\nfunc main() {}\n")}
		if err := WriteHeader(&hdr, o, name+".bpf.o", nil); err != nil && !strings.Contains(err.Error(), "no map key or value type") {
			t.Fatalf("gen header %s: %v", name, err)
		}
		if err := WriteSkeleton(&skel, o, name+"_bpf"); err != nil {
			t.Fatalf("gen skeleton %s: %v", name, err)
		}
		files := map[string][]byte{"x.wasm.h": hdr.Bytes(), "x.skel.h": skel.Bytes()}
		compileC(t, name, files, "#include \"libbpf-wasm.h\"\n#include \"x.wasm.h\"\n#include \"x.skel.h\"\n")
		compileC(t, name+"-libc", files, libcIncludes()+"#include \"libbpf-wasm.h\"\n#include \"x.wasm.h\"\n#include \"x.skel.h\"\n")
	}
	goModule(t, pkgs, []string{"GOOS=wasip1", "GOARCH=wasm"}, "build", "-o", os.DevNull, "./...")
	goModule(t, pkgs, []string{"GOOS=wasip1", "GOARCH=wasm"}, "vet", "./...")
}

// An object whose only maps are u32 -> u64 and char[16] -> u64 has no
// named type: the file then needs neither unsafe nor checks (it imported
// unsafe anyway, and did not compile).
func TestGoScalarMaps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go")
	}
	o := *testObjects(t)["shapes"]
	o.Maps, o.Globals = nil, nil
	for _, m := range testObjects(t)["shapes"].Maps {
		if m.Name == "counts" || m.Name == "by_comm" {
			o.Maps = append(o.Maps, m)
		}
	}
	var b bytes.Buffer
	if err := WriteGo(&b, &o, "shapes.bpf.o", "main", nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"func OpenCounts(obj *wasmbpf.Object) (*wasmbpf.TypedMap[uint32, uint64], error)",
		"func OpenByComm(obj *wasmbpf.Object) (*wasmbpf.TypedMap[[16]byte, uint64], error)"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("generated Go lacks %q", w)
		}
	}
	goModule(t, map[string]map[string][]byte{"scalar": {"bpf.go": b.Bytes(), "main.go": []byte("package main\n\nfunc main() {}\n")}},
		[]string{"GOOS=wasip1", "GOARCH=wasm"}, "build", "-o", os.DevNull, "./...")
}

// Bitfields read and written through the generated accessors land where
// the C compiler puts them: a native C program and the generated Go, on
// the host, agree on the bytes of struct flags.
func TestBitfieldAccessors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go and C")
	}
	clang := lookTool(t, "clang")
	objs := testObjects(t)
	var goSrc bytes.Buffer
	if err := WriteGo(&goSrc, objs["shapes"], "shapes.bpf.o", "main", []string{"struct flags"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	native := filepath.Join(dir, "native")
	csrc := `#include <stdio.h>
typedef unsigned char u8; typedef unsigned int u32; typedef unsigned long long u64;
enum color { RED, GREEN = 5, BLUE = -1 };
struct flags { u32 a : 3; int b : 5; u32 c : 24; u64 wide : 40; u64 more : 30; enum color col : 4; _Bool on : 1; u8 after; };
int main(void) {
	struct flags f = {0};
	f.a = 5; f.b = -7; f.c = 0xabcdef; f.wide = 0x12345678ffULL; f.more = 0x2aaaaaaa; f.col = GREEN; f.on = 1; f.after = 9;
	for (unsigned i = 0; i < sizeof(f); i++) printf("%02x", ((unsigned char *)&f)[i]);
	printf(" %d\n", f.b);
	return 0;
}
`
	os.WriteFile(native+".c", []byte(csrc), 0o644)
	if out, err := exec.Command(clang, "-O1", "-o", native, native+".c").CombinedOutput(); err != nil {
		t.Fatalf("native C: %v\n%s", err, out)
	}
	out, err := exec.Command(native).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(out))
	main := `package main

import (
	"encoding/hex"
	"fmt"
	"unsafe"
)

func main() {
	var f Flags
	f.SetA(5)
	f.SetB(-7)
	f.SetC(0xabcdef)
	f.SetWide(0x12345678ff)
	f.SetMore(0x2aaaaaaa)
	f.SetCol(Green)
	f.SetOn(1)
	f.After = 9
	b := unsafe.Slice((*byte)(unsafe.Pointer(&f)), SizeofFlags)
	g := DecodeFlags(b)
	if g.A() != 5 || g.B() != -7 || g.C() != 0xabcdef || g.Wide() != 0x12345678ff || g.More() != 0x2aaaaaaa || g.Col() != Green || g.On() != 1 {
		panic(fmt.Sprint("read back ", g.A(), g.B(), g.C(), g.Wide(), g.More(), g.Col(), g.On()))
	}
	fmt.Printf("%s %d\n", hex.EncodeToString(b), g.B())
}
`
	got := strings.TrimSpace(goModule(t, map[string]map[string][]byte{"flags": {"bpf.go": goSrc.Bytes(), "main.go": []byte(main)}}, nil, "run", "./flags"))
	if got != want {
		t.Errorf("Go wrote\n\t%s\nthe C compiler\n\t%s", got, want)
	}
}

// kernelTypes is a corpus of real types: every named struct, union and
// enum of the running kernel's BTF whose name no other type has (a few
// names are given to two types by different compilation units).
func kernelTypes(t *testing.T) []btf.Type {
	t.Helper()
	f, err := os.Open(testenv.VmlinuxBTF)
	if err != nil {
		testenv.Unavailable(t, "kernel BTF: %v", err)
	}
	defer f.Close()
	spec, err := btf.LoadSpecFromReader(f)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]btf.Type{}
	var order []string
	for typ := range spec.All() {
		switch typ.(type) {
		case *btf.Struct, *btf.Union, *btf.Enum:
		default:
			continue
		}
		n := typ.TypeName()
		if n == "" {
			continue
		}
		if len(byName[n]) == 0 {
			order = append(order, n)
		}
		byName[n] = append(byName[n], typ)
	}
	var out []btf.Type
	for _, n := range order {
		if ts := byName[n]; len(ts) == 1 {
			out = append(out, ts[0])
		}
	}
	return out
}

func TestKernelCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go and C for the types of the kernel")
	}
	types := kernelTypes(t)
	var hdr bytes.Buffer
	if err := writeHeader(&hdr, "vmlinux", types); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"vmlinux.wasm.h": hdr.Bytes()}
	compileC(t, "vmlinux", files, "#include \"vmlinux.wasm.h\"\n")
	compileC(t, "vmlinux-libc", files, libcIncludes()+"#include \"vmlinux.wasm.h\"\n")

	// Go compiles 12 MB of the whole corpus in about 20 s: CI takes a
	// sample (with every type it depends on), -corpus-all everything.
	sample := types
	if !*corpusAll {
		sample = nil
		for i := 0; i < len(types); i += 8 {
			sample = append(sample, types[i])
		}
	}
	var goSrc bytes.Buffer
	if err := writeGo(&goSrc, &Object{}, "vmlinux", "main", sample); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kernel types in C (%d bytes), %d asked for in Go (%d bytes)", len(types), hdr.Len(), len(sample), goSrc.Len())
	goModule(t, map[string]map[string][]byte{"vmlinux": {"bpf.go": goSrc.Bytes(), "main.go": []byte("package main\n\nfunc main() {}\n")}},
		[]string{"GOOS=wasip1", "GOARCH=wasm"}, "build", "-o", os.DevNull, "./...")
}
