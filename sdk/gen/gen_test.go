package gen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

var (
	u8   = &btf.Int{Name: "unsigned char", Size: 1}
	char = &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
	s32  = &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	u32  = &btf.Int{Name: "unsigned int", Size: 4}
	long = &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}
	u64  = &btf.Int{Name: "u64", Size: 8}
)

func TestLayout(t *testing.T) {
	inner := &btf.Struct{Name: "inner", Size: 16, Members: []btf.Member{
		{Name: "p", Type: &btf.Pointer{Target: s32}, Offset: 0},
		{Name: "x", Type: s32, Offset: 64},
	}}
	tests := []layoutCase{
		{
			name: "long and padding",
			typ: &btf.Struct{Name: "ev", Size: 24, Members: []btf.Member{
				{Name: "pid", Type: s32, Offset: 0},
				{Name: "ret", Type: long, Offset: 64},
				{Name: "c", Type: &btf.Array{Type: char, Nelems: 3, Index: u32}, Offset: 128},
			}},
			want: []string{"int32_t pid;", "uint8_t __pad0[4];", "int64_t ret;", "char c[3];", "uint8_t __pad1[5];",
				"sizeof(struct ev) == 24", "offsetof(struct ev, ret) == 8"},
		},
		{
			name: "nested named struct and pointer",
			typ: &btf.Struct{Name: "outer", Size: 24, Members: []btf.Member{
				{Name: "in", Type: inner, Offset: 0},
				{Name: "v", Type: &btf.Typedef{Name: "u64", Type: u64}, Offset: 128},
			}},
			want: []string{"struct inner {", "uint64_t p /* pointer */;", "struct inner in;", "uint64_t v;", "sizeof(struct inner) == 16"},
		},
		{
			name: "anonymous union member",
			typ: &btf.Struct{Name: "au", Size: 8, Members: []btf.Member{
				{Name: "", Type: &btf.Union{Size: 8, Members: []btf.Member{{Name: "a", Type: u64}, {Name: "b", Type: u8}}}, Offset: 0},
			}},
			want: []string{"union {", "offsetof(struct au, a) == 0", "offsetof(struct au, b) == 0"},
		},
		{
			name: "packed",
			typ: &btf.Struct{Name: "pk", Size: 5, Members: []btf.Member{
				{Name: "a", Type: u8, Offset: 0},
				{Name: "b", Type: u32, Offset: 8},
			}},
			want: []string{"__attribute__((packed))", "offsetof(struct pk, b) == 1"},
		},
		{
			name: "enum field",
			typ: &btf.Struct{Name: "en", Size: 4, Members: []btf.Member{
				{Name: "k", Type: &btf.Enum{Name: "kind", Size: 4, Values: []btf.EnumValue{{Name: "K_A", Value: 1}}}, Offset: 0},
			}},
			want: []string{"enum kind {", "K_A = 1ULL", "uint32_t k /* enum kind */;"},
		},
		{
			name: "bitfields are their bytes",
			typ: &btf.Struct{Name: "bf", Size: 8, Members: []btf.Member{
				{Name: "flag", Type: u32, Offset: 3, BitfieldSize: 1},
				{Name: "kind", Type: u32, Offset: 4, BitfieldSize: 12},
				{Name: "x", Type: u32, Offset: 32},
			}},
			want: []string{"uint8_t __bf0[2] /* bitfields, bits from byte 0: flag: bits 3-3, kind: bits 4-15 */;", "uint8_t __pad0[2];",
				"uint32_t x;", "offsetof(struct bf, x) == 4"},
		},
		{
			name: "enumerators of two enums",
			typ: &btf.Struct{Name: "two", Size: 8, Members: []btf.Member{
				{Name: "a", Type: &btf.Enum{Name: "ea", Size: 4, Values: []btf.EnumValue{{Name: "V_ONE", Value: 1}}}, Offset: 0},
				{Name: "b", Type: &btf.Enum{Name: "eb", Size: 4, Values: []btf.EnumValue{{Name: "V_ONE", Value: 1}, {Name: "V_TWO", Value: 2}}}, Offset: 32},
			}},
			want: []string{"enum ea {\n\tV_ONE = 1ULL,", "/* V_ONE = 1ULL, also in another enum */", "V_TWO = 2ULL,"},
		},
		{
			name: "long double and __int128 are their bytes",
			typ: &btf.Struct{Name: "ld", Size: 32, Members: []btf.Member{
				{Name: "x", Type: &btf.Float{Name: "long double", Size: 16}, Offset: 0},
				{Name: "y", Type: &btf.Int{Name: "__int128", Size: 16, Encoding: btf.Signed}, Offset: 128},
			}},
			want: []string{"uint8_t x[16] /* long double */;", "uint8_t y[16] /* __int128 */;", "sizeof(struct ld) == 32"},
		},
		{
			name: "incomplete type",
			typ: &btf.Struct{Name: "fw", Size: 8, Members: []btf.Member{
				{Name: "f", Type: &btf.Fwd{Name: "opaque", Kind: btf.FwdStruct}, Offset: 0},
			}},
			wantErr: "struct fw.f: incomplete type",
		},
	}
	runLayoutCases(t, tests, func(typ btf.Type) (string, error) {
		e := newEmitter()
		err := e.emitNamed(typ)
		return e.b.String(), err
	}, nil, func(t *testing.T, out string) {
		compileWasm32(t, "#include <stdint.h>\n"+out)
	})
}

// layoutCase is a type for a generator to lay out, and what its output
// must hold, or its error.
type layoutCase struct {
	name    string
	typ     btf.Type
	want    []string // substrings of the output
	wantErr string   // substring of the error
}

// runLayoutCases checks emit's output for each case (compared after
// normalize, when not nil) or its error; check, when not nil, looks at
// every output further.
func runLayoutCases(t *testing.T, cases []layoutCase, emit func(btf.Type) (string, error), normalize func(string) string, check func(t *testing.T, out string)) {
	t.Helper()
	if normalize == nil {
		normalize = func(s string) string { return s }
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			out, err := emit(tt.typ)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(normalize(out), normalize(w)) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if check != nil {
				check(t, out)
			}
		})
	}
}

// compileWasm32 checks that src compiles for wasm32 (so every
// _Static_assert holds there), where clang is at hand.
func compileWasm32(t *testing.T, src string) {
	t.Helper()
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("clang not installed")
	}
	f := filepath.Join(t.TempDir(), "h.c")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(clang, "--target=wasm32-wasi", "-Wall", "-Werror", "-fsyntax-only", f).CombinedOutput(); err != nil {
		t.Fatalf("does not compile for wasm32: %v\n%s\n%s", err, out, src)
	}
}

func TestNeedsTarget(t *testing.T) {
	for sec, want := range map[string]bool{
		"socket": true, "xdp": true, "xdp.frags": true, "sockops": true, "cgroup/connect4": true,
		"cgroup_skb/egress": true, "tp/sched/sched_switch": false, "lsm/path_rmdir": false,
		"uprobe//bin/x:f": false, "tp_btf/sched_wakeup": false, "tracepoint/x/y": false,
	} {
		if got := needsTarget(sec); got != want {
			t.Errorf("needsTarget(%q) = %v, want %v", sec, got, want)
		}
	}
}

func TestSkeletonName(t *testing.T) {
	for in, want := range map[string]string{
		"foo.bpf.o": "foo_bpf", "/a/b/my-tool.bpf.o": "my_tool_bpf", "x.o": "x",
	} {
		if got := SkeletonName(in); got != want {
			t.Errorf("SkeletonName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestObject generates a skeleton and a type header from a real object
// (compiled here when clang is at hand) and compiles both for wasm32.
func TestObject(t *testing.T) {
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("clang not installed")
	}
	dir := t.TempDir()
	src := `
typedef unsigned int u32;
typedef unsigned long long u64;
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
struct rec { int pid; long ts; void *ptr; char comm[16]; _Bool flag; };
struct { __uint(type, 1); __uint(max_entries, 8); __type(key, u32); __type(value, struct rec); } recs SEC(".maps");
struct { __uint(type, 27); __uint(max_entries, 4096); } rb SEC(".maps");
const volatile int ro_pid = 7;
const volatile char ro_name[5] = "abc";
int data_x = 3;
long bss_count;
struct rec bss_rec;
char LICENSE[] SEC("license") = "GPL";
SEC("tp/sched/sched_switch") int prog_a(void *ctx) { return ro_pid + data_x + bss_count + bss_rec.pid + ro_name[0]; }
SEC("socket") int prog_b(void *ctx) { return 0; }
`
	if err := os.WriteFile(filepath.Join(dir, "t.bpf.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "t.bpf.o")
	if out, err := exec.Command(clang, "-g", "-O2", "-target", "bpf", "-c", filepath.Join(dir, "t.bpf.c"), "-o", obj).CombinedOutput(); err != nil {
		t.Skipf("clang cannot build BPF objects here: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	o, err := LoadObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Globals) != 3 || o.Globals[0].Section != ".rodata" || o.Globals[2].Offset != -1 {
		t.Fatalf("globals = %+v", o.Globals)
	}
	var hdr, skel bytes.Buffer
	if err := WriteHeader(&hdr, o, obj, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hdr.String(), "int64_t ts;") || !strings.Contains(hdr.String(), "sizeof(struct rec) == 48") {
		t.Errorf("header:\n%s", hdr.String())
	}
	if err := WriteSkeleton(&skel, o, "t_bpf"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"struct t_bpf__rodata {", "char ro_name[5];", "int64_t bss_count;", "struct rec bss_rec;",
		`s->progs[0].needs_target = 0;`, `s->progs[1].needs_target = 1;`, `"rb"`, "struct bpf_map *bss;"} {
		if !strings.Contains(skel.String(), w) {
			t.Errorf("skeleton lacks %q", w)
		}
	}
	if err := WriteHeader(&bytes.Buffer{}, o, obj, []string{"nosuchtype"}); err == nil || !strings.Contains(err.Error(), "nosuchtype") {
		t.Errorf("unknown type: err = %v", err)
	}
	os.WriteFile(filepath.Join(dir, "t.wasm.h"), hdr.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "t.skel.h"), skel.Bytes(), 0o644)
	sdk, _ := filepath.Abs("../c")
	main := filepath.Join(dir, "main.c")
	os.WriteFile(main, []byte(`#include "t.wasm.h"
#include "t.skel.h"
int main(void) { struct t_bpf *s = t_bpf__open(); if (!s) return 1; s->rodata->ro_pid = 1; t_bpf__destroy(s); return 0; }
`), 0o644)
	if out, err := exec.Command(clang, "--target=wasm32-wasi", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-fsyntax-only", "-I"+sdk, main).CombinedOutput(); err != nil {
		t.Fatalf("generated headers do not compile for wasm32: %v\n%s", err, out)
	}
}
