package objcheck_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/objcheck"
	"github.com/wasm-bpf/wasm-bpf/internal/objfuzz"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

var tc *testenv.Toolchain

func TestMain(m *testing.M) {
	var err error
	if tc, err = testenv.NewToolchain(""); err != nil {
		fmt.Fprintln(os.Stderr, "objcheck: toolchain:", err)
		os.Exit(1)
	}
	code := m.Run()
	tc.Close()
	os.Exit(code)
}

// object compiles testdata/check.bpf.c (once) and prepares it for
// mutation.
func object(t *testing.T) *objfuzz.Object {
	t.Helper()
	data, err := os.ReadFile(tc.BPFObjectT(t, "testdata/check.bpf.c"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := objfuzz.Parse("check.bpf.o", data)
	if err != nil {
		t.Fatal(err)
	}
	if err := objcheck.Check(o.Data()); err != nil {
		t.Fatalf("the valid object is refused: %v", err)
	}
	return o
}

// Every type reference pointed past the last type, or at its own type
// (but for pointers, which libbpf never follows without a bound), makes
// the object refused, with the reason.
func TestRefusesBadReferences(t *testing.T) {
	o := object(t)
	if len(o.Refs()) < 20 {
		t.Fatalf("found only %d type references in the object", len(o.Refs()))
	}
	for _, ref := range o.Refs() {
		err := objcheck.Check(o.With(objfuzz.Edit{Offset: ref.Offset, Value: o.NumTypes() + 1}))
		if err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("%s pointed past the last type: %v", ref.What, err)
		}
		kind, _, _ := strings.Cut(ref.What, " ")
		err = objcheck.Check(o.With(objfuzz.Edit{Offset: ref.Offset, Value: uint32(ref.Holder)}))
		switch kind {
		case "Pointer":
			// A pointer to itself is no cycle libbpf walks without a
			// bound; whether the rest of the object still makes sense
			// depends on where the pointer was.
		case "Datasec", "Func", "FuncProto", "Var":
			if err == nil {
				t.Errorf("%s pointed at itself: accepted", ref.What)
			}
		default:
			if err == nil || !strings.Contains(err.Error(), "contains itself") {
				t.Errorf("%s pointed at itself: %v", ref.What, err)
			}
		}
	}
}

// The typedef that names itself and that a .maps variable names: libbpf
// 1.4.6 loops forever in skip_mods_and_typedefs on it.
func TestRefusesTypedefNamingItself(t *testing.T) {
	o := object(t)
	td, mapVar := findRef(t, o, "Typedef wbchk_count_t", "type"), findRef(t, o, "Var wbchk_map", "type")
	err := objcheck.Check(o.With(
		objfuzz.Edit{Offset: td.Offset, Value: uint32(td.Holder)},
		objfuzz.Edit{Offset: mapVar.Offset, Value: uint32(td.Holder)}))
	want := fmt.Sprintf("Typedef wbchk_count_t [%d] contains itself", td.Holder)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Check: %v; want %q", err, want)
	}
}

func findRef(t *testing.T, o *objfuzz.Object, holder, field string) objfuzz.Ref {
	t.Helper()
	for _, r := range o.Refs() {
		if strings.HasPrefix(r.What, holder+" [") && strings.HasSuffix(r.What, "] "+field) {
			return r
		}
	}
	t.Fatalf("no reference %q %q among %d", holder, field, len(o.Refs()))
	return objfuzz.Ref{}
}

// Types nesting deeper than MaxDepth are refused, and types in the
// thousands are not (they only cost the walk).
func TestDepth(t *testing.T) {
	o := object(t)
	for _, tt := range []struct {
		n    int
		want string
	}{
		{objcheck.MaxDepth - 8, ""},
		{objcheck.MaxDepth + 1, fmt.Sprintf("types nest more than %d deep", objcheck.MaxDepth)},
		{5000, fmt.Sprintf("types nest more than %d deep", objcheck.MaxDepth)},
	} {
		obj, err := o.WithChain("wbchk_map", tt.n)
		if err != nil {
			t.Fatal(err)
		}
		err = checkBTFOnly(obj)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("chain of %d: %v, want accepted", tt.n, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("chain of %d: %v, want %q", tt.n, err, tt.want)
		}
	}
}

// checkBTFOnly is Check, less what a re-encoded BTF breaks on purpose:
// the .BTF.ext infos then name other strings, which Check reports after it
// has checked the types.
func checkBTFOnly(obj []byte) error {
	err := objcheck.Check(obj)
	if err != nil && !strings.HasPrefix(err.Error(), "BTF: types") && !strings.Contains(err.Error(), "bytes of types") {
		return nil
	}
	return err
}

// Type records past MaxTypeBytes are refused before any is decoded:
// cilium/ebpf's decoder recurses once per link of a chain, and a chain of
// 600000 types exceeds Go's 1 GiB stack, which kills the process (the e2e
// tests load that one).
func TestTypeBytesBounded(t *testing.T) {
	o := object(t)
	obj, err := o.WithChain("wbchk_map", objcheck.MaxTypeBytes/12+1)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("more than the %d allowed", objcheck.MaxTypeBytes)
	if err := objcheck.Check(obj); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Check: %v; want %q", err, want)
	}
}
