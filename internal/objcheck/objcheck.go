// Package objcheck checks a BPF ELF object before libbpf parses it.
//
// libbpf trusts the objects it opens more than a hostile guest deserves:
// a typedef that names itself sends bpf_object__open into an endless loop
// (skip_mods_and_typedefs), a struct that contains itself into endless
// recursion. So every part of an object that libbpf reads is read here
// first, with cilium/ebpf (ELF sections and symbols, BTF and its .BTF.ext
// infos, the .maps definitions, the programs and their relocations), and
// the checks libbpf lacks are added on top: the types form no cycle that
// is not broken by a pointer, and nest no deeper than libbpf can walk.
// An object that fails any of it is refused with the reason.
package objcheck

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// Limits on what an object's BTF may hold. cilium/ebpf decodes a chain of
// types by recursion, about 2 KiB of goroutine stack per link, so the
// number of types bounds the stack a hostile object can make the host
// grow (Go's limit is 1 GiB, and exceeding it kills the process): 512 KiB
// of type records is at most 43690 types, some 90 MiB of stack, and ten
// times the types of the largest object the examples build.
const (
	MaxTypeBytes = 512 << 10
	// MaxDepth bounds how deeply types contain one another (through
	// typedefs, qualifiers, arrays, members, variables and function
	// prototypes, but not pointers). The deepest in a kernel's own BTF is
	// about 35.
	MaxDepth = 128
)

// Check returns nil if libbpf can be given obj, or why not.
func Check(obj []byte) error {
	_, err := Spec(obj)
	return err
}

// Spec checks obj as Check does and returns what cilium/ebpf read of it
// on the way, for a caller that would otherwise read it again (a reading
// is some 230 KiB of garbage and a millisecond for the bootstrap example).
func Spec(obj []byte) (spec *ebpf.CollectionSpec, err error) {
	if err := checkELF(obj); err != nil {
		return nil, err
	}
	// cilium/ebpf returns errors for malformed input, but a panic in it
	// must not take the host down either.
	defer func() {
		if r := recover(); r != nil {
			spec, err = nil, fmt.Errorf("object not readable (cilium/ebpf: %v)", r)
		}
	}()
	if err := checkBTF(obj); err != nil {
		return nil, fmt.Errorf("BTF: %w", err)
	}
	// Everything else libbpf parses: license, symbols, relocations, .maps,
	// data sections, programs, and which instructions the line infos and
	// CO-RE relocations name.
	return ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
}

// checkELF rejects what is plainly not a BPF object: libbpf trusts section
// headers, so offsets and sizes are checked here first.
func checkELF(buf []byte) error {
	f, err := elf.NewFile(bytes.NewReader(buf))
	if err != nil {
		return err
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_BPF || f.Type != elf.ET_REL {
		return fmt.Errorf("not a BPF relocatable object (%v %v %v)", f.Class, f.Machine, f.Type)
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			continue
		}
		if end := s.Offset + s.FileSize; end < s.Offset || end > uint64(len(buf)) {
			return fmt.Errorf("section %q lies outside the file", s.Name)
		}
	}
	if _, err := f.Symbols(); err != nil {
		return fmt.Errorf("symbols: %w", err)
	}
	return nil
}

// checkBTF reads .BTF and .BTF.ext, and checks how the types refer to one
// another.
func checkBTF(obj []byte) error {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return err
	}
	sec := f.Section(".BTF")
	if sec == nil {
		return nil // libbpf then reads no BTF either
	}
	raw, err := sec.Data()
	if err != nil {
		return err
	}
	if h, _, ok := ReadHeader(raw); ok && h.TypeLen > MaxTypeBytes {
		return fmt.Errorf("%d bytes of types, more than the %d allowed", h.TypeLen, MaxTypeBytes)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return err
	}
	n, err := numTypes(spec)
	if err != nil {
		return err
	}
	w := walker{spec: spec, depth: map[btf.Type]int{}}
	for id := btf.TypeID(1); id <= n; id++ {
		// Decoding a type checks its record fits the section, its name is
		// in the string table, and every type it refers to exists.
		typ, err := spec.TypeByID(id)
		if err != nil {
			return err
		}
		if err := w.walk(typ, nil); err != nil {
			return err
		}
	}
	// The ext infos are resolved against the types: every type id they
	// name exists, every string offset is in the string table.
	_, _, err = btf.LoadSpecAndExtInfosFromReader(bytes.NewReader(obj))
	return err
}

// numTypes counts the types of spec. cilium/ebpf has no call for it, and
// its All stops quietly at the first type that refers past the last one,
// so the count is read from a split BTF on top of spec: a split's first
// type id follows its base's last.
func numTypes(spec *btf.Spec) (btf.TypeID, error) {
	b, err := btf.NewBuilder([]btf.Type{&btf.Int{Size: 1}}, nil)
	if err != nil {
		return 0, err
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		return 0, err
	}
	split, err := btf.LoadSplitSpecFromReader(bytes.NewReader(raw), spec)
	if err != nil {
		return 0, err
	}
	for typ, err := range split.All() {
		if err != nil {
			return 0, err
		}
		first, err := split.TypeID(typ)
		return first - 1, err
	}
	return 0, errors.New("cannot count the types")
}

// Header is the start of a BTF blob (struct btf_header in the kernel's
// uapi/linux/btf.h), as far as the sizes go.
type Header struct {
	Magic            uint16
	Version, Flags   uint8
	HdrLen           uint32
	TypeOff, TypeLen uint32
}

// ReadHeader reads the header of a BTF blob of either byte order. Only
// what is needed to find the types is read here; cilium/ebpf checks the
// rest.
func ReadHeader(raw []byte) (Header, binary.ByteOrder, bool) {
	const magic = 0xeb9f
	var h Header
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		if _, err := binary.Decode(raw, bo, &h); err == nil && h.Magic == magic {
			return h, bo, true
		}
	}
	return Header{}, nil, false
}

// walker checks the types reachable from a type without following
// pointers: libbpf walks those chains (skipping typedefs and qualifiers,
// resolving sizes and alignments, descending into members) without a
// bound, so they must end, and soon.
type walker struct {
	spec *btf.Spec
	// depth is how deeply each type checked so far nests; inProgress marks
	// the types on the current path.
	depth map[btf.Type]int
}

const inProgress = -1

// walk returns an error if typ is part of a cycle or nests deeper than
// MaxDepth; path is how the walk reached it. The recursion is at most
// MaxDepth+1 deep.
func (w *walker) walk(typ btf.Type, path []btf.Type) error {
	switch d, seen := w.depth[typ]; {
	case seen && d == inProgress:
		return fmt.Errorf("%s contains itself: %s", w.name(typ), w.chain(append(path, typ)))
	case seen:
		return nil
	}
	path = append(path, typ)
	if len(path) > MaxDepth {
		return fmt.Errorf("types nest more than %d deep: %s", MaxDepth, w.chain(path))
	}
	w.depth[typ] = inProgress
	deepest := 0
	for _, child := range contained(typ) {
		if err := w.walk(child, path); err != nil {
			return err
		}
		deepest = max(deepest, w.depth[child])
	}
	if deepest+1 > MaxDepth {
		return fmt.Errorf("types nest more than %d deep below %s", MaxDepth, w.name(typ))
	}
	w.depth[typ] = deepest + 1
	return nil
}

// contained lists the types typ is made of: every type it refers to but
// the target of a pointer.
func contained(typ btf.Type) []btf.Type {
	if _, ok := typ.(*btf.Pointer); ok {
		return nil
	}
	var out []btf.Type
	for _, r := range References(typ) {
		out = append(out, *r.Type)
	}
	return out
}

// Reference is a field of a type that names another type.
type Reference struct {
	Field string    // "type", "target", "element", "member NAME", ...
	Type  *btf.Type // the field itself
}

// References lists the fields of typ that name other types, in the order
// of its BTF record.
func References(typ btf.Type) []Reference {
	one := func(field string, t *btf.Type) []Reference { return []Reference{{field, t}} }
	switch t := typ.(type) {
	case *btf.Pointer:
		return one("target", &t.Target)
	case *btf.Array:
		return []Reference{{"element", &t.Type}, {"index", &t.Index}}
	case *btf.Struct:
		return members(t.Members)
	case *btf.Union:
		return members(t.Members)
	case *btf.Typedef:
		return one("type", &t.Type)
	case *btf.Const:
		return one("type", &t.Type)
	case *btf.Volatile:
		return one("type", &t.Type)
	case *btf.Restrict:
		return one("type", &t.Type)
	case *btf.TypeTag:
		return one("type", &t.Type)
	case *btf.Var:
		return one("type", &t.Type)
	case *btf.Func:
		return one("prototype", &t.Type)
	case *btf.FuncProto:
		out := one("return", &t.Return)
		for i := range t.Params {
			out = append(out, Reference{"parameter " + t.Params[i].Name, &t.Params[i].Type})
		}
		return out
	case *btf.Datasec:
		out := make([]Reference, 0, len(t.Vars))
		for i := range t.Vars {
			out = append(out, Reference{"variable", &t.Vars[i].Type})
		}
		return out
	}
	return nil // Void, Int, Enum, Fwd, Float
}

func members(ms []btf.Member) []Reference {
	out := make([]Reference, 0, len(ms))
	for i := range ms {
		out = append(out, Reference{"member " + ms[i].Name, &ms[i].Type})
	}
	return out
}

// Name names a type of spec as messages show it: its kind, name and id.
func Name(spec *btf.Spec, typ btf.Type) string {
	kind := fmt.Sprintf("%T", typ)
	if i := strings.LastIndexByte(kind, '.'); i >= 0 {
		kind = kind[i+1:]
	}
	s := kind
	if n := typ.TypeName(); n != "" {
		s += " " + n
	}
	if id, err := spec.TypeID(typ); err == nil {
		s += fmt.Sprintf(" [%d]", id)
	}
	return s
}

func (w *walker) name(typ btf.Type) string { return Name(w.spec, typ) }

// chain names the types of path, eliding the middle of a long one.
func (w *walker) chain(path []btf.Type) string {
	var b bytes.Buffer
	for i, t := range path {
		if len(path) > 8 && i == 4 {
			fmt.Fprintf(&b, " -> ... %d more", len(path)-8)
		}
		if len(path) > 8 && i >= 4 && i < len(path)-4 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" -> ")
		}
		b.WriteString(w.name(t))
	}
	return b.String()
}
