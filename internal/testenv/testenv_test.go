package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// parseHeader reads back the bytes and the length a header declares.
func parseHeader(t *testing.T, symbol, h string) ([]byte, int) {
	t.Helper()
	open := "static const unsigned char " + symbol + "[] __attribute__((aligned(8))) = {"
	i := strings.Index(h, open)
	j := strings.Index(h, "};")
	if i < 0 || j < i {
		t.Fatalf("array declaration not found in:\n%s", h)
	}
	body := h[i+len(open) : j]
	body = regexp.MustCompile(`/\*.*?\*/`).ReplaceAllString(body, "")
	var out []byte
	for _, f := range strings.FieldsFunc(body, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		v, err := strconv.ParseUint(f, 0, 8)
		if err != nil {
			t.Fatalf("bad byte %q: %v", f, err)
		}
		out = append(out, byte(v))
	}
	m := regexp.MustCompile(`static const unsigned int ` + symbol + `_len = (\d+);`).FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("length declaration not found in:\n%s", h)
	}
	n, _ := strconv.Atoi(m[1])
	return out, n
}

func TestWriteCHeader(t *testing.T) {
	seq := make([]byte, 300)
	for i := range seq {
		seq[i] = byte(i)
	}
	tests := []struct {
		name    string
		symbol  string
		data    []byte
		wantErr bool
		lines   int // lines of array data, 0: do not check
	}{
		{name: "empty", symbol: "empty_o", data: nil, lines: 1},
		{name: "one byte", symbol: "one", data: []byte{0xff}, lines: 1},
		{name: "full line", symbol: "twelve", data: seq[:12], lines: 1},
		{name: "line plus one", symbol: "thirteen", data: seq[:13], lines: 2},
		{name: "all byte values", symbol: "_all_bytes2", data: seq, lines: 25},
		{name: "ELF magic", symbol: "elf", data: []byte("\x7fELF\x00\n\"\\")},
		{name: "empty symbol", symbol: "", wantErr: true},
		{name: "leading digit", symbol: "1obj", wantErr: true},
		{name: "dot", symbol: "events.bpf.o", wantErr: true},
		{name: "dash", symbol: "a-b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteCHeader(&buf, tt.symbol, tt.data)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("WriteCHeader(%q) succeeded, want an error", tt.symbol)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := buf.String()
			got, n := parseHeader(t, tt.symbol, h)
			if n != len(tt.data) {
				t.Errorf("%s_len = %d, want %d", tt.symbol, n, len(tt.data))
			}
			want := tt.data
			if len(want) == 0 {
				want = []byte{0} // the placeholder element
			}
			if !bytes.Equal(got, want) {
				t.Errorf("bytes = %x, want %x", got, want)
			}
			if tt.lines > 0 {
				lines := strings.Count(h[strings.Index(h, "{"):strings.Index(h, "}")], "\n") - 1
				if lines != tt.lines {
					t.Errorf("array spans %d lines, want %d:\n%s", lines, tt.lines, h)
				}
			}
			guard := "TESTENV_EMBED_" + strings.ToUpper(tt.symbol) + "_H"
			if !strings.HasPrefix(strings.SplitN(h, "\n", 2)[1], "#ifndef "+guard+"\n#define "+guard+"\n") {
				t.Errorf("missing include guard %s:\n%s", guard, h)
			}
		})
	}
}

// TestWriteCHeaderCompiles checks the header is valid C where a C compiler
// is at hand (it is not a kernel test: no CI rule, a missing cc just skips).
func TestWriteCHeaderCompiles(t *testing.T) {
	cc, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("clang not installed")
	}
	dir := t.TempDir()
	var buf bytes.Buffer
	data := []byte("\x7fELF\x02\x01\x01 some bytes")
	if err := WriteCHeader(&buf, "blob", data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blob.h"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `#include "blob.h"
#include "blob.h"
_Static_assert(sizeof(blob) == ` + strconv.Itoa(len(data)) + `, "size");
int main(void) { return blob_len == sizeof(blob) && blob[0] == 0x7f ? 0 : 1; }
`
	if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cc, "-Wall", "-Werror", "-fsyntax-only", filepath.Join(dir, "main.c")).CombinedOutput(); err != nil {
		t.Fatalf("header does not compile: %v\n%s", err, out)
	}
}

func TestTargetArch(t *testing.T) {
	tests := []struct {
		goarch string
		want   string
		ok     bool
	}{
		{"amd64", "x86", true},
		{"386", "x86", true},
		{"arm64", "arm64", true},
		{"riscv64", "riscv", true},
		{"s390x", "s390", true},
		{"ppc64le", "powerpc", true},
		{"wasm", "", false},
	}
	for _, tt := range tests {
		got, ok := TargetArch(tt.goarch)
		if got != tt.want || ok != tt.ok {
			t.Errorf("TargetArch(%q) = %q, %v; want %q, %v", tt.goarch, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBPFSyscallNumber(t *testing.T) {
	tests := []struct {
		goarch string
		want   uintptr
		ok     bool
	}{
		{"amd64", 321, true},
		{"arm64", 280, true},
		{"386", 357, true},
		{"wasm", 0, false},
	}
	for _, tt := range tests {
		got, ok := BPFSyscallNumber(tt.goarch)
		if got != tt.want || ok != tt.ok {
			t.Errorf("BPFSyscallNumber(%q) = %d, %v; want %d, %v", tt.goarch, got, ok, tt.want, tt.ok)
		}
	}
}

func TestIsCIdent(t *testing.T) {
	for s, want := range map[string]bool{"a": true, "_": true, "a1_B": true, "1a": false, "": false, "a.b": false, "é": false} {
		if got := isCIdent(s); got != want {
			t.Errorf("isCIdent(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestRequireBPF exercises the probe on this machine: it must not crash,
// and where it passes the checks really hold.
func TestRequireBPF(t *testing.T) {
	RequireBPF(t)
	if os.Geteuid() != 0 {
		t.Fatal("RequireBPF passed without root")
	}
	if _, err := os.Stat(VmlinuxBTF); err != nil {
		t.Fatal(err)
	}
}

func TestRequired(t *testing.T) {
	tests := []struct {
		env, feature string
		want         bool
	}{
		{"", "lsm", false},
		{"lsm", "lsm", true},
		{"lsm,fentry", "fentry", true},
		{" lsm , fentry ", "fentry", true},
		{"lsmx", "lsm", false},
		{"fentry", "lsm", false},
	}
	for _, tt := range tests {
		t.Setenv(RequiredEnv, tt.env)
		if got := Required(tt.feature); got != tt.want {
			t.Errorf("%s=%q: Required(%q) = %v, want %v", RequiredEnv, tt.env, tt.feature, got, tt.want)
		}
	}
}
