package gen

import (
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// spelling is how a generator's language writes the scalar types: the C,
// Go and Rust generators map BTF integers, enums and floats the same way,
// only the names differ.
type spelling struct {
	lang             string // in errors: "has no <lang> type"
	char, boolean    string // plain char (1 byte, for strings) and _Bool
	signed, unsigned string // formats of the width in bits
	f32, f64         string
}

var (
	// _Bool has no fixed size in C, and a Go or Rust bool must hold 0 or
	// 1, which a kernel byte need not: all three write a byte. Plain char
	// is C's char (char arrays stay usable as strings) and a byte in Go
	// and Rust.
	cSpelling    = spelling{lang: "fixed-width C", char: "char", boolean: "uint8_t", signed: "int%d_t", unsigned: "uint%d_t", f32: "float", f64: "double"}
	goSpelling   = spelling{lang: "Go", char: "byte", boolean: "uint8", signed: "int%d", unsigned: "uint%d", f32: "float32", f64: "float64"}
	rustSpelling = spelling{lang: "Rust", char: "u8", boolean: "u8", signed: "i%d", unsigned: "u%d", f32: "f32", f64: "f64"}
)

// intType is the fixed-width type of a BTF integer.
func (s spelling) intType(i *btf.Int, path string) (string, error) {
	// clang writes plain char as a signed (or unsigned) int named "char".
	if i.Size == 1 && (i.Encoding == btf.Char || i.Name == "char") {
		return s.char, nil
	}
	if i.Encoding == btf.Bool && i.Size == 1 {
		return s.boolean, nil
	}
	if fixedWidth(i.Size) {
		if i.Encoding == btf.Signed {
			return fmt.Sprintf(s.signed, i.Size*8), nil
		}
		return fmt.Sprintf(s.unsigned, i.Size*8), nil
	}
	return "", &layoutError{path, fmt.Sprintf("%d-byte integer %q has no %s type", i.Size, i.Name, s.lang)}
}

// enumBase is the integer type of an enum's values.
func (s spelling) enumBase(e *btf.Enum, path string) (string, error) {
	return s.intType(&btf.Int{Size: e.Size, Encoding: signedIf(e.Signed)}, path)
}

func (s spelling) floatType(f *btf.Float, path string) (string, error) {
	switch f.Size {
	case 4:
		return s.f32, nil
	case 8:
		return s.f64, nil
	}
	return "", &layoutError{path, fmt.Sprintf("%d-byte float %q has no %s type", f.Size, f.Name, s.lang)}
}

func signedIf(s bool) btf.IntEncoding {
	if s {
		return btf.Signed
	}
	return 0
}

// fixedWidth reports whether an integer of size bytes has a fixed-width
// type (in C, Go and Rust alike).
func fixedWidth(size uint32) bool { return size == 1 || size == 2 || size == 4 || size == 8 }

// opaqueScalar returns the size of an integer or float that no generator
// has a type for, __int128 and long double, which every generator writes
// as its bytes: wasm32 and the BPF target may align them differently
// (long double is 16 bytes on the BPF target, 8 on wasm32), and the bytes
// are what is sure. ok is false for every other type.
func opaqueScalar(t btf.Type) (size int, name string, ok bool) {
	switch t := t.(type) {
	case *btf.Int:
		return int(t.Size), t.Name, !fixedWidth(t.Size)
	case *btf.Float:
		return int(t.Size), t.Name, t.Size != 4 && t.Size != 8
	}
	return 0, "", false
}

// scalarAlign is the alignment of an integer, float, enum or pointer (8:
// a kernel pointer's bits) as every generator writes it, 1 for those
// written as bytes; ok is false for other types.
func scalarAlign(t btf.Type) (a int, ok bool) {
	if _, _, opaque := opaqueScalar(t); opaque {
		return 1, true
	}
	switch t := t.(type) {
	case *btf.Int:
		return int(t.Size), true
	case *btf.Float:
		return int(t.Size), true
	case *btf.Enum:
		return int(t.Size), true
	case *btf.Pointer:
		return 8, true
	}
	return 0, false
}

// noLayout is the error for a type no generator can lay out: an incomplete
// struct or union, a function, void.
func noLayout(t btf.Type, path string) error {
	switch t := t.(type) {
	case *btf.Fwd:
		return &layoutError{path, fmt.Sprintf("incomplete type %s %s (only declared in the object's BTF)", t.Kind, t.Name)}
	case *btf.FuncProto, *btf.Func:
		return &layoutError{path, "function type (only a pointer to one can be a field)"}
	case *btf.Void:
		return &layoutError{path, "void"}
	}
	return &layoutError{path, fmt.Sprintf("unsupported BTF type %v", t)}
}

// memberPath names a member for errors: its path from the type at path.
func memberPath(path string, m btf.Member) string {
	if m.Name == "" {
		return path + ".(anonymous)"
	}
	return path + "." + m.Name
}
