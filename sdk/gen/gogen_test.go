package gen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"execve_event": "ExecveEvent", "min_duration_ns": "MinDurationNs", "__x": "X", "_1a": "X1a", "Foo": "Foo", "ST_RUN": "StRun", "pid_t": "PidT",
	} {
		if got := GoName(in); got != want {
			t.Errorf("GoName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGoLayout(t *testing.T) {
	tests := []layoutCase{
		{
			name: "long and padding",
			typ: &btf.Struct{Name: "ev", Size: 24, Members: []btf.Member{
				{Name: "pid", Type: s32, Offset: 0},
				{Name: "ret", Type: long, Offset: 64},
				{Name: "c", Type: &btf.Array{Type: char, Nelems: 3, Index: u32}, Offset: 128},
			}},
			want: []string{"type Ev struct {", "Pid int32", "_ [4]byte", "Ret int64", "C [3]byte", "_ [5]byte",
				"const SizeofEv = 24", "func DecodeEv(rec []byte) (v Ev)", "unsafe.Offsetof(Ev{}.Ret)-8]"},
		},
		{
			name: "nested struct, pointer, typedef",
			typ: &btf.Struct{Name: "outer", Size: 24, Members: []btf.Member{
				{Name: "in", Type: &btf.Struct{Name: "inner", Size: 16, Members: []btf.Member{
					{Name: "p", Type: &btf.Pointer{Target: s32}, Offset: 0},
					{Name: "x", Type: s32, Offset: 64},
				}}, Offset: 0},
				{Name: "v", Type: &btf.Typedef{Name: "u64", Type: u64}, Offset: 128},
			}},
			want: []string{"type Inner struct {", "P uint64 // pointer", "In Inner", "V uint64", "const SizeofInner = 16"},
		},
		{
			name: "union member and misaligned member",
			typ: &btf.Struct{Name: "odd", Size: 16, Members: []btf.Member{
				{Name: "u", Type: &btf.Union{Size: 4, Members: []btf.Member{{Name: "a", Type: u32}, {Name: "b", Type: u8}}}, Offset: 0},
				{Name: "b", Type: u8, Offset: 32},
				{Name: "w", Type: u64, Offset: 40},
			}},
			want: []string{"U [4]byte // union", "B uint8", "W [8]byte // uint64, misaligned", "_ [3]byte"},
		},
		{
			name: "enum",
			typ: &btf.Struct{Name: "withenum", Size: 4, Members: []btf.Member{
				{Name: "st", Type: &btf.Enum{Name: "state", Size: 4, Values: []btf.EnumValue{{Name: "ST_RUN", Value: 0}, {Name: "ST_STOP", Value: 2}}}, Offset: 0},
			}},
			want: []string{"type State uint32", "StRun  State = 0", "StStop State = 2", "St State"},
		},
		{
			name: "bitfields",
			typ: &btf.Struct{Name: "bf", Size: 8, Members: []btf.Member{
				{Name: "f", Type: u32, Offset: 0, BitfieldSize: 3},
				{Name: "g", Type: s32, Offset: 3, BitfieldSize: 9},
				{Name: "x", Type: u32, Offset: 32},
			}},
			want: []string{"Bitfields0 [2]byte // bitfields f: bits 0-2, g: bits 3-11", "_ [2]byte", "X uint32",
				"func (v *Bf) F() uint32 { return uint32(wasmbpf.Bitfield(v.Bitfields0[:], 0, 3)) }",
				"func (v *Bf) G() int32 { return int32(wasmbpf.SignedBitfield(v.Bitfields0[:], 3, 9)) }",
				"func (v *Bf) SetG(x int32) { wasmbpf.SetBitfield(v.Bitfields0[:], 3, 9, uint64(x)) }",
				"unsafe.Offsetof(Bf{}.X)-4]"},
		},
		{
			name: "packed",
			typ: &btf.Struct{Name: "pk", Size: 12, Members: []btf.Member{
				{Name: "a", Type: u64, Offset: 0},
				{Name: "b", Type: u32, Offset: 64},
			}},
			want: []string{"A [8]byte // uint64, in a packed struct", "B uint32", "const SizeofPk = 12"},
		},
		{
			name: "flexible array at the end",
			typ: &btf.Struct{Name: "flex", Size: 4, Members: []btf.Member{
				{Name: "len", Type: u32, Offset: 0},
				{Name: "data", Type: &btf.Array{Type: u32, Nelems: 0, Index: u32}, Offset: 32},
			}},
			want: []string{"Len uint32", "// Data [0]uint32: zero-size, at the end"},
		},
		{
			name: "names Go would give twice",
			typ: &btf.Struct{Name: "dup", Size: 8, Members: []btf.Member{
				{Name: "foo_bar", Type: u32, Offset: 0},
				{Name: "fooBar", Type: u32, Offset: 32},
			}},
			want: []string{"FooBar  uint32", "FooBar2 uint32", "unsafe.Offsetof(Dup{}.FooBar2)-4]"},
		},
		{
			name: "__int128 and long double",
			typ: &btf.Struct{Name: "wide", Size: 32, Members: []btf.Member{
				{Name: "i", Type: &btf.Int{Name: "__int128", Size: 16, Encoding: btf.Signed}, Offset: 0},
				{Name: "f", Type: &btf.Float{Name: "long double", Size: 16}, Offset: 128},
			}},
			want: []string{"I [16]byte", "F [16]byte"},
		},
	}
	runLayoutCases(t, tests, func(typ btf.Type) (string, error) {
		e := newGoEmitter()
		_, err := e.emitNamed(typ)
		return e.b.String() + e.checks.String(), err
	}, normalizeSpace, nil)
}

func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestGoObject generates Go from a real object and compiles and runs it
// with the SDK, on the host and for wasip1: the compile-time checks prove
// the layouts, and the run decodes a record.
func TestGoObject(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go programs")
	}
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("clang not installed")
	}
	goTool := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("go not found")
		}
	}
	dir := t.TempDir()
	src := `
typedef unsigned int u32;
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
struct rec { int pid; long ts; void *ptr; char comm[16]; _Bool flag; };
struct { __uint(type, 1); __uint(max_entries, 8); __type(key, u32); __type(value, struct rec); } recs SEC(".maps");
struct { __uint(type, 27); __uint(max_entries, 4096); } rb SEC(".maps");
const volatile int ro_pid = 7;
int data_x = 3;
long bss_count;
char LICENSE[] SEC("license") = "GPL";
SEC("tp/sched/sched_switch") int prog_a(void *ctx) { return ro_pid + data_x + bss_count; }
SEC("xdp") int prog_x(void *ctx) { return 2; }
`
	os.WriteFile(filepath.Join(dir, "t.bpf.c"), []byte(src), 0o644)
	obj := filepath.Join(dir, "t.bpf.o")
	if out, err := exec.Command(clang, "-g", "-O2", "-target", "bpf", "-c", filepath.Join(dir, "t.bpf.c"), "-o", obj).CombinedOutput(); err != nil {
		t.Skipf("clang cannot build BPF objects here: %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(obj)
	o, err := LoadObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	var gen bytes.Buffer
	if err := WriteGo(&gen, o, obj, "main", nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"type Rec struct {", "Ts int64", "Ptr uint64 // pointer", "Flag uint8", "const SizeofRec = 48",
		`RoPid = wasmbpf.Var[int32]{Name: "ro_pid", Section: ".rodata", Offset: `, `DataX = wasmbpf.Var[int32]{Name: "data_x", Section: ".data"`,
		"func OpenRecs(obj *wasmbpf.Object) (*wasmbpf.TypedMap[uint32, Rec], error)", "type Bss struct", "func OpenBss(",
		"ObjectSize: " + strconv.Itoa(len(raw)), `func AttachPrograms(obj *wasmbpf.Object) error { for _, prog := range []string{"prog_a"} {`} {
		if !strings.Contains(normalizeSpace(gen.String()), normalizeSpace(w)) {
			t.Errorf("generated Go lacks %q", w)
		}
	}
	if strings.Contains(gen.String(), "OpenRb") {
		t.Error("a ring buffer got a typed map")
	}
	root, _ := filepath.Abs("../..")
	mod := filepath.Join(dir, "mod")
	os.MkdirAll(mod, 0o755)
	sum, _ := os.ReadFile(filepath.Join(root, "go.sum"))
	os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644)
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module gentest\n\ngo 1.24\n\nrequire github.com/wasm-bpf/wasm-bpf v0.0.0\n\nreplace github.com/wasm-bpf/wasm-bpf => "+root+"\n"), 0o644)
	os.WriteFile(filepath.Join(mod, "t_bpf.go"), gen.Bytes(), 0o644)
	os.WriteFile(filepath.Join(mod, "main.go"), []byte(`package main

import "fmt"

func main() {
	rec := make([]byte, SizeofRec)
	rec[0] = 42
	rec[8] = 1
	copy(rec[24:], "comm")
	rec[40] = 1
	r := DecodeRec(rec)
	fmt.Print(r.Pid, r.Ts, string(r.Comm[:4]), r.Flag)
}
`), 0o644)
	run := func(env []string, args ...string) string {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = mod
		cmd.Env = append(append(os.Environ(), "GOFLAGS=-mod=mod"), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s\n%s", strings.Join(args, " "), err, out, gen.String())
		}
		return string(out)
	}
	if got := run(nil, "run", "."); got != "42 1comm1" {
		t.Errorf("decoded %q", got)
	}
	run([]string{"GOOS=wasip1", "GOARCH=wasm"}, "vet", ".")
}
