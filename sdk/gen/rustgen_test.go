package gen

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

func TestRustIdent(t *testing.T) {
	for in, want := range map[string]string{"pid": "pid", "type": "type_", "in": "in_", "self": "self_", "union": "union", "__x": "__x"} {
		if got := RustIdent(in); got != want {
			t.Errorf("RustIdent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRustLayout(t *testing.T) {
	tests := []layoutCase{
		{
			name: "long and padding",
			typ: &btf.Struct{Name: "ev", Size: 24, Members: []btf.Member{
				{Name: "pid", Type: s32, Offset: 0},
				{Name: "ret", Type: long, Offset: 64},
				{Name: "c", Type: &btf.Array{Type: char, Nelems: 3, Index: u32}, Offset: 128},
			}},
			want: []string{"#[repr(C)]", "pub struct Ev {", "pub pid: i32,", "pub __pad_0: [u8; 4],", "pub ret: i64,", "pub c: [u8; 3],", "pub __pad_1: [u8; 5],",
				"unsafe impl wasm_bpf::Pod for Ev {}", "size_of::<Ev>() == 24", "probe::<Ev, 24>(8)", "offset(LO.ret, HI.ret) == 8", "offset(LO.__pad_1, HI.__pad_1) == 19"},
		},
		{
			name: "nested struct, pointer, keyword",
			typ: &btf.Struct{Name: "outer", Size: 24, Members: []btf.Member{
				{Name: "in", Type: &btf.Struct{Name: "inner", Size: 16, Members: []btf.Member{
					{Name: "p", Type: &btf.Pointer{Target: s32}, Offset: 0},
					{Name: "x", Type: s32, Offset: 64},
				}}, Offset: 0},
				{Name: "type", Type: &btf.Typedef{Name: "u64", Type: u64}, Offset: 128},
			}},
			want: []string{"pub struct Inner {", "/// A pointer: the kernel address's bits.\n    pub p: u64,", "pub in_: Inner,", "pub type_: u64,", "size_of::<Inner>() == 16"},
		},
		{
			name: "anonymous union member and a misaligned member make it packed",
			typ: &btf.Struct{Name: "odd", Size: 13, Members: []btf.Member{
				{Name: "", Type: &btf.Union{Size: 4, Members: []btf.Member{{Name: "a", Type: u32}, {Name: "b", Type: u8}}}, Offset: 0},
				{Name: "b", Type: u8, Offset: 32},
				{Name: "w", Type: u64, Offset: 40},
			}},
			want: []string{"pub struct OddAnon0 {\n    pub bytes: [u8; 4],", "pub fn a(&self) -> u32 {", "pub fn set_b(&mut self, value: u8)",
				"#[repr(C, packed)]", "pub anon0: OddAnon0,", "pub w: u64,", "offset(LO.w, HI.w) == 5"},
		},
		{
			name: "enum",
			typ: &btf.Struct{Name: "withenum", Size: 4, Members: []btf.Member{
				{Name: "st", Type: &btf.Enum{Name: "state", Size: 4, Signed: true, Values: []btf.EnumValue{{Name: "ST_RUN", Value: 0}, {Name: "ST_BAD", Value: ^uint64(0)}}}, Offset: 0},
			}},
			want: []string{"#[repr(transparent)]", "pub struct State(pub i32);", "pub const ST_RUN: State = State(0);", "pub const ST_BAD: State = State(-1);", "pub st: State,"},
		},
		{
			name: "bitfields",
			typ: &btf.Struct{Name: "bf", Size: 8, Members: []btf.Member{
				{Name: "a", Type: u8, Offset: 0},
				{Name: "f", Type: u32, Offset: 8, BitfieldSize: 3},
				{Name: "g", Type: s32, Offset: 11, BitfieldSize: 9},
				{Name: "h", Type: u32, Offset: 32},
			}},
			want: []string{"pub a: u8,\n    /// bitfields f, g: use their accessors\n    pub __bitfield_1: [u8; 2],\n    pub __pad_0: [u8; 1],\n    pub h: u32,",
				"pub fn f(&self) -> u32 {\n        wasm_bpf::layout::get_bits(&self.__bitfield_1, 0, 3) as u32",
				"pub fn g(&self) -> i32 {\n        wasm_bpf::layout::get_bits_signed(&self.__bitfield_1, 3, 9) as i32",
				"pub fn set_g(&mut self, value: i32) {\n        wasm_bpf::layout::set_bits(&mut self.__bitfield_1, 3, 9, value as u64)"},
		},
		{
			name:    "overlap",
			typ:     &btf.Struct{Name: "ov", Size: 8, Members: []btf.Member{{Name: "a", Type: u64, Offset: 0}, {Name: "b", Type: u32, Offset: 32}}},
			wantErr: "struct ov.b: overlaps the previous member",
		},
		{
			name: "long double and __int128 are their bytes",
			typ: &btf.Struct{Name: "ld", Size: 48, Members: []btf.Member{
				{Name: "x", Type: &btf.Float{Name: "long double", Size: 16}, Offset: 0},
				{Name: "c", Type: u8, Offset: 128},
				{Name: "y", Type: &btf.Int{Name: "__int128", Size: 16, Encoding: btf.Signed}, Offset: 136},
				{Name: "z", Type: u64, Offset: 320},
			}},
			want: []string{"#[repr(C)]", "pub x: [u8; 16],", "pub c: u8,\n    pub y: [u8; 16],\n    pub __pad_0: [u8; 7],", "offset(LO.y, HI.y) == 17", "offset(LO.z, HI.z) == 40"},
		},
		{
			name: "names Rust would give twice",
			typ: &btf.Struct{Name: "two", Size: 12, Members: []btf.Member{
				{Name: "a", Type: &btf.Struct{Name: "foo_bar", Size: 4, Members: []btf.Member{{Name: "x", Type: u32}}}, Offset: 0},
				{Name: "b", Type: &btf.Struct{Name: "fooBar", Size: 4, Members: []btf.Member{{Name: "y", Type: u32}}}, Offset: 32},
				{Name: "c", Type: &btf.Struct{Name: "default", Size: 4, Members: []btf.Member{{Name: "z", Type: u32}}}, Offset: 64},
			}},
			want: []string{"/// struct foo_bar, laid out as the kernel lays it out.\n#[repr(C)]\n#[derive(Clone, Copy, Debug)]\npub struct FooBar {",
				"/// struct fooBar, laid out as the kernel lays it out.\n#[repr(C)]\n#[derive(Clone, Copy, Debug)]\npub struct FooBarStruct {",
				"pub struct DefaultStruct {", "pub a: FooBar,", "pub b: FooBarStruct,", "pub c: DefaultStruct,"},
		},
		{
			name:    "too large for rustc to check",
			typ:     &btf.Struct{Name: "huge", Size: 256 << 10, Members: []btf.Member{{Name: "x", Type: u64, Offset: 0}}},
			wantErr: "struct huge: 262144 bytes: rustc checks the layout of structs up to 196608 bytes",
		},
		{
			name:    "incomplete type",
			typ:     &btf.Struct{Name: "fw", Size: 8, Members: []btf.Member{{Name: "f", Type: &btf.Fwd{Name: "opaque", Kind: btf.FwdStruct}, Offset: 0}}},
			wantErr: "struct fw.f: incomplete type",
		},
	}
	runLayoutCases(t, tests, func(typ btf.Type) (string, error) {
		e := newRustEmitter()
		_, err := e.emitNamed(typ)
		return e.b.String(), err
	}, nil, nil)
}

// TestRustCorpus generates Rust for testdata/rustcorpus (nested and
// anonymous structs, unions, arrays, bitfields, padding, packing, enums,
// pointers, keywords), checks it for wasm32-wasi, where the layout checks
// must hold, and runs it on this machine against the C compiler's own
// layout: the Rust side must read the fields dump.c wrote, and write the
// very bytes dump.c wrote.
func TestRustCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Rust and C programs")
	}
	clang, err := exec.LookPath("clang")
	if err != nil {
		testenv.Unavailable(t, "clang: %v", err)
	}
	rust := testenv.RustT(t)
	corpus, _ := filepath.Abs("testdata/rustcorpus")
	sdk, _ := filepath.Abs("../rust")
	dir := t.TempDir()
	obj := filepath.Join(dir, "corpus.bpf.o")
	run := func(cmd *exec.Cmd) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s%s", strings.Join(cmd.Args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	run(exec.Command(clang, "-g", "-O2", "-target", "bpf", "-c", filepath.Join(corpus, "corpus.bpf.c"), "-o", obj))
	dump := filepath.Join(dir, "dump")
	run(exec.Command(clang, "-O2", "-Wall", "-Werror", filepath.Join(corpus, "dump.c"), "-o", dump))

	raw, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	o, err := LoadObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	var gen bytes.Buffer
	if err := WriteRust(&gen, o, obj, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(gen.String(), "open_percpu") {
		t.Error("a per-CPU map got a typed accessor")
	}
	crate := filepath.Join(dir, "crate")
	os.MkdirAll(filepath.Join(crate, "src"), 0o755)
	os.WriteFile(filepath.Join(crate, "Cargo.toml"), []byte("[package]\nname = \"corpus\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nwasm-bpf = { path = \""+sdk+"\" }\n"), 0o644)
	os.WriteFile(filepath.Join(crate, "src", "bpf.rs"), gen.Bytes(), 0o644)
	main, err := os.ReadFile(filepath.Join(corpus, "main.rs"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(crate, "src", "main.rs"), main, 0o644)
	target := filepath.Join(dir, "target")
	if err := rust.CheckWasm(crate, target); err != nil {
		t.Fatalf("%v\ngenerated:\n%s", err, gen.String())
	}

	cOut := run(exec.Command(dump))
	cmd := rust.Command(crate, target, "run", "--offline", "--quiet")
	cmd.Stdin = strings.NewReader(cOut)
	rOut := run(cmd)
	pick := func(out, prefix string) []string {
		var ls []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, prefix+" ") {
				ls = append(ls, strings.TrimPrefix(l, prefix+" "))
			}
		}
		sort.Strings(ls)
		return ls
	}
	if c, r := pick(cOut, "field"), pick(rOut, "field"); strings.Join(c, "\n") != strings.Join(r, "\n") || len(c) == 0 {
		t.Errorf("fields read by Rust differ from those C wrote:\nC:\n%s\nRust:\n%s", strings.Join(c, "\n"), strings.Join(r, "\n"))
	}
	if c, r := pick(cOut, "bytes"), pick(rOut, "built"); strings.Join(c, "\n") != strings.Join(r, "\n") || len(c) != 4 {
		t.Errorf("bytes written by Rust differ from C's:\nC:\n%s\nRust:\n%s", strings.Join(c, "\n"), strings.Join(r, "\n"))
	}
}

// TestGeneratedRustCompiles: gen rust writes every shape a record can take
// (testdata/shapes.bpf.c: bitfields, unions, packed structs, __int128,
// long double, flexible arrays, names that clash), every example's
// object, and every type of the running kernel but those too large for
// rustc to check; the output for the objects and a sample of the kernel's
// types (with every type they contain) checks for wasm32-wasi, where
// rustc evaluates the layout checks.
func TestGeneratedRustCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Rust")
	}
	rust := testenv.RustT(t)
	mods := map[string][]byte{}
	for name, o := range testObjects(t) {
		var b bytes.Buffer
		if err := WriteRust(&b, o, name+".bpf.o", nil); err != nil {
			t.Fatalf("gen rust %s: %v", name, err)
		}
		mods[name] = b.Bytes()
	}

	types := kernelTypes(t)
	e := newRustEmitter()
	var refused []string
	for _, typ := range types {
		if _, err := e.emitNamed(typ); err != nil {
			if !strings.Contains(err.Error(), "rustc checks the layout of structs up to") {
				t.Errorf("gen rust refuses %v: %v", typ, err)
			}
			refused = append(refused, typ.TypeName())
		}
	}
	// The sample: one in sixteen, as Go's (TestKernelCorpus) is one in
	// eight; rustc takes twice as long.
	sample := newRustEmitter()
	for i := 0; i < len(types); i += 16 {
		if _, err := sample.emitNamed(types[i]); err != nil && !strings.Contains(err.Error(), "rustc checks the layout") {
			t.Fatal(err)
		}
	}
	mods["vmlinux"] = []byte("#![allow(dead_code, non_camel_case_types, non_snake_case, non_upper_case_globals)]\n" + sample.b.String())
	t.Logf("%d kernel types in Rust, %d refused as too large to check (%s); %d bytes of Rust checked for the sample", len(types)-len(refused), len(refused), strings.Join(refused, ", "), len(mods["vmlinux"]))

	crate := t.TempDir()
	sdk, _ := filepath.Abs("../rust")
	os.MkdirAll(filepath.Join(crate, "src"), 0o755)
	os.WriteFile(filepath.Join(crate, "Cargo.toml"), []byte("[package]\nname = \"generated\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\npath = \"src/lib.rs\"\n\n[dependencies]\nwasm-bpf = { path = \""+sdk+"\" }\n"), 0o644)
	var lib strings.Builder
	names := make([]string, 0, len(mods))
	for name := range mods {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		mod := strings.ReplaceAll(name, "-", "_")
		fmt.Fprintf(&lib, "pub mod %s;\n", mod)
		os.WriteFile(filepath.Join(crate, "src", mod+".rs"), mods[name], 0o644)
	}
	os.WriteFile(filepath.Join(crate, "src", "lib.rs"), []byte(lib.String()), 0o644)
	if err := rust.CheckWasm(crate, filepath.Join(t.TempDir(), "target")); err != nil {
		t.Fatalf("%.20000v", err)
	}
}
