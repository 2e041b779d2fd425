// Package objfuzz turns valid BPF ELF objects into hostile ones, for the
// tests of the object load path: random byte changes anywhere or inside
// one section, and BTF-aware changes that point a type reference at its
// own type, past the last type, or at another type.
//
// Where each type reference lies in the file is found with cilium/ebpf's
// BTF encoder rather than a hand-written decoder: the types are encoded
// once as they are and once with every reference pointing at a marker type
// of its own, and the two encodings differ exactly in the references.
package objfuzz

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/cilium/ebpf/btf"

	"github.com/wasm-bpf/wasm-bpf/internal/objcheck"
)

// Object is a valid BPF object to mutate.
type Object struct {
	Name     string
	data     []byte
	sections []span
	refs     []Ref
	numTypes uint32 // the highest type id
}

type span struct {
	name      string
	off, size int
}

// Ref is one type reference in an object's BTF: the little-endian u32 at
// Offset in the file is the id of the type that type Holder refers to.
type Ref struct {
	Offset int
	Holder btf.TypeID
	Target btf.TypeID
	What   string // "Typedef u32 [12]", "Struct foo [7] member bar", ...
	// InMaps: the reference is a .maps variable's type or a member of a
	// map definition, which libbpf walks at open.
	InMaps bool
}

// Parse prepares obj for mutation. An object whose BTF cannot be read or
// re-encoded is still mutated, but only byte by byte.
func Parse(name string, obj []byte) (*Object, error) {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return nil, err
	}
	o := &Object{Name: name, data: obj}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NULL || s.Type == elf.SHT_NOBITS || s.Size == 0 {
			continue
		}
		if s.Offset+s.Size > uint64(len(obj)) {
			return nil, fmt.Errorf("section %s lies outside the file", s.Name)
		}
		o.sections = append(o.sections, span{s.Name, int(s.Offset), int(s.Size)})
	}
	if s := f.Section(".BTF"); s != nil {
		o.refs, o.numTypes, err = findRefs(obj, int(s.Offset))
		if err != nil {
			return nil, fmt.Errorf("%s: BTF references: %w", name, err)
		}
	}
	return o, nil
}

// Data is the unchanged object.
func (o *Object) Data() []byte { return o.data }

// Refs are the object's BTF type references.
func (o *Object) Refs() []Ref { return o.refs }

// NumTypes is the number of types in the object's BTF: ids past it are out
// of range.
func (o *Object) NumTypes() uint32 { return o.numTypes }

// Edit writes Value as a little-endian u32 at Offset.
type Edit struct {
	Offset int
	Value  uint32
}

// With returns a copy of the object with edits applied.
func (o *Object) With(edits ...Edit) []byte {
	out := bytes.Clone(o.data)
	for _, e := range edits {
		binary.LittleEndian.PutUint32(out[e.Offset:], e.Value)
	}
	return out
}

// Mutant is a mutated object and how it was made.
type Mutant struct {
	Data []byte
	What string
}

// Mutate returns a random mutant of the object.
func (o *Object) Mutate(r *rand.Rand) Mutant {
	if len(o.refs) > 0 && r.IntN(5) < 2 {
		return o.mutateRef(r)
	}
	return o.mutateBytes(r)
}

// mutateRef points one type reference somewhere it should not: at its own
// type, past the last type, far out of range, at any type, or at the
// holder of another reference. Sometimes a .maps reference is pointed at
// the changed type too, so that libbpf walks it when it opens the object.
func (o *Object) mutateRef(r *rand.Rand) Mutant {
	ref := o.refs[r.IntN(len(o.refs))]
	var v uint32
	var how string
	switch n := r.IntN(20); {
	case n < 6:
		v, how = uint32(ref.Holder), "its own type"
	case n < 10:
		v, how = o.numTypes+1, "the first id past the last type"
	case n < 12:
		v = [...]uint32{0xffffffff, 0x80000000, 0x7fffffff, o.numTypes + 2 + r.Uint32N(1000)}[r.IntN(4)]
		how = "an id far out of range"
	case n < 16:
		v, how = r.Uint32N(o.numTypes+1), "a random type"
	default:
		v, how = uint32(o.refs[r.IntN(len(o.refs))].Holder), "the holder of another reference"
	}
	edits := []Edit{{ref.Offset, v}}
	what := fmt.Sprintf("BTF: %s (at 0x%x) now refers to %s (%d)", ref.What, ref.Offset, how, v)
	if r.IntN(3) == 0 {
		var maps []Ref
		for _, m := range o.refs {
			if m.InMaps {
				maps = append(maps, m)
			}
		}
		if len(maps) > 0 {
			m := maps[r.IntN(len(maps))]
			edits = append(edits, Edit{m.Offset, uint32(ref.Holder)})
			what += fmt.Sprintf("; %s (at 0x%x) refers to it", m.What, m.Offset)
		}
	}
	return Mutant{o.With(edits...), what}
}

// interesting are values that tend to sit on boundaries.
var interesting = []uint32{0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
	0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff}

// mutateBytes changes one to four bytes or words, in the whole file or in
// one section.
func (o *Object) mutateBytes(r *rand.Rand) Mutant {
	where := span{"the file", 0, len(o.data)}
	if len(o.sections) > 0 && r.IntN(4) != 0 {
		where = o.sections[r.IntN(len(o.sections))]
	}
	out := bytes.Clone(o.data)
	n := 1 + r.IntN(4)
	what := fmt.Sprintf("%d change(s) in %s:", n, where.name)
	for range n {
		off := where.off + r.IntN(where.size)
		switch k := r.IntN(4); {
		case k == 0:
			out[off] ^= 1 << r.IntN(8)
			what += fmt.Sprintf(" bit flip at 0x%x;", off)
		case k == 1:
			out[off] = byte(r.IntN(256))
			what += fmt.Sprintf(" byte 0x%x = 0x%02x;", off, out[off])
		default:
			off &^= 3
			if off+4 > where.off+where.size || off+4 > len(out) {
				continue
			}
			v := interesting[r.IntN(len(interesting))]
			binary.LittleEndian.PutUint32(out[off:], v)
			what += fmt.Sprintf(" u32 at 0x%x = 0x%x;", off, v)
		}
	}
	return Mutant{out, what}
}

// findRefs locates every type reference of the BTF in obj, whose .BTF
// section starts at btfOff.
func findRefs(obj []byte, btfOff int) ([]Ref, uint32, error) {
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return nil, 0, err
	}
	var types []btf.Type
	for id := btf.TypeID(1); ; id++ {
		typ, err := spec.TypeByID(id)
		if err != nil {
			break
		}
		types = append(types, typ)
	}
	plain, err := encode(types)
	if err != nil {
		return nil, 0, err
	}
	// Every reference now names a marker type of its own, so the second
	// encoding differs from the first exactly where the references are.
	slots := referenceSlots(types)
	targets := make([]btf.Type, len(slots))
	all := types
	for i, s := range slots {
		targets[i] = *s.ptr
		marker := &btf.Int{Size: 4}
		*s.ptr = marker
		all = append(all, marker)
	}
	marked, err := encode(all)
	if err != nil {
		return nil, 0, err
	}
	for i, s := range slots {
		*s.ptr = targets[i] // leave the spec as it was
	}

	hdr, bo, ok := objcheck.ReadHeader(obj[btfOff:])
	if !ok || bo != binary.LittleEndian {
		return nil, 0, fmt.Errorf("no little-endian BTF header")
	}
	origTypes := btfOff + int(hdr.HdrLen) + int(hdr.TypeOff)
	plainHdr, _, _ := objcheck.ReadHeader(plain)
	if int(plainHdr.TypeLen) < int(hdr.TypeLen) || origTypes+int(hdr.TypeLen) > len(obj) {
		return nil, 0, fmt.Errorf("re-encoded types do not line up with the object's")
	}
	n := uint32(len(types))
	var refs []Ref
	base := int(plainHdr.HdrLen)
	for off := 0; off+4 <= int(hdr.TypeLen); off += 4 {
		a := binary.LittleEndian.Uint32(plain[base+off:])
		b := binary.LittleEndian.Uint32(marked[base+off:])
		if a == b || b <= n || b > n+uint32(len(slots)) {
			continue
		}
		s := slots[b-n-1]
		// The object must hold the same id there as the plain encoding,
		// or the two layouts differ and the offset means nothing.
		if binary.LittleEndian.Uint32(obj[origTypes+off:]) != a {
			continue
		}
		holder, _ := spec.TypeID(s.holder)
		target, _ := spec.TypeID(targets[b-n-1])
		refs = append(refs, Ref{
			Offset: origTypes + off,
			Holder: holder,
			Target: target,
			What:   objcheck.Name(spec, s.holder) + " " + s.field,
			InMaps: s.inMaps,
		})
	}
	return refs, n, nil
}

func encode(types []btf.Type) ([]byte, error) {
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		return nil, err
	}
	return b.Marshal(nil, &btf.MarshalOptions{Order: binary.LittleEndian})
}

// slot is one reference field of a type, as cilium/ebpf holds it.
type slot struct {
	holder btf.Type
	field  string
	ptr    *btf.Type
	inMaps bool
}

// referenceSlots lists the reference fields of every type, marking those
// of the .maps variables and their map definitions.
func referenceSlots(types []btf.Type) []slot {
	mapDefs := map[btf.Type]bool{}
	for _, typ := range types {
		if ds, ok := typ.(*btf.Datasec); ok && ds.Name == ".maps" {
			for _, v := range ds.Vars {
				if vr, ok := v.Type.(*btf.Var); ok {
					mapDefs[vr] = true
					mapDefs[vr.Type] = true
				}
			}
		}
	}
	var out []slot
	for _, typ := range types {
		for _, r := range objcheck.References(typ) {
			out = append(out, slot{typ, r.Field, r.Type, mapDefs[typ]})
		}
	}
	return out
}

// ReplaceSection returns a copy of obj whose section name holds data: data
// is appended to the file and the section header points at it.
func ReplaceSection(obj []byte, name string, data []byte) ([]byte, error) {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return nil, err
	}
	idx := -1
	for i, s := range f.Sections {
		if s.Name == name {
			idx = i
		}
	}
	if idx < 0 || f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
		return nil, fmt.Errorf("no section %s in a little-endian ELF64 file", name)
	}
	// Elf64_Ehdr: e_shoff at 0x28, e_shentsize at 0x3a; Elf64_Shdr:
	// sh_offset at 0x18, sh_size at 0x20.
	shoff := binary.LittleEndian.Uint64(obj[0x28:])
	shentsize := uint64(binary.LittleEndian.Uint16(obj[0x3a:]))
	hdr := shoff + uint64(idx)*shentsize
	if hdr+0x28 > uint64(len(obj)) {
		return nil, fmt.Errorf("section header %d lies outside the file", idx)
	}
	out := bytes.Clone(obj)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	binary.LittleEndian.PutUint64(out[hdr+0x18:], uint64(len(out)))
	binary.LittleEndian.PutUint64(out[hdr+0x20:], uint64(len(data)))
	return append(out, data...), nil
}

// WithChain returns a copy of the object whose variable varName reaches
// its type through n qualifiers, outermost first, so that decoding the
// variable walks them all. The BTF is encoded again by cilium/ebpf: the
// .BTF.ext infos then name other strings.
func (o *Object) WithChain(varName string, n int) ([]byte, error) {
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(o.data))
	if err != nil {
		return nil, err
	}
	var types []btf.Type
	for id := btf.TypeID(1); id <= btf.TypeID(o.numTypes); id++ {
		typ, err := spec.TypeByID(id)
		if err != nil {
			return nil, err
		}
		types = append(types, typ)
	}
	var v *btf.Var
	if err := spec.TypeByName(varName, &v); err != nil {
		return nil, err
	}
	chain := make([]btf.Type, n)
	target := v.Type
	for i := n - 1; i >= 0; i-- {
		c := &btf.Const{Type: target}
		chain[i], target = c, c
	}
	v.Type = target
	return ReplaceBTF(o.data, append(types, chain...))
}

// ReplaceBTF returns a copy of obj whose .BTF section holds types instead,
// encoded by cilium/ebpf. The .BTF.ext infos then name other strings.
func ReplaceBTF(obj []byte, types []btf.Type) ([]byte, error) {
	raw, err := encode(types)
	if err != nil {
		return nil, err
	}
	return ReplaceSection(obj, ".BTF", raw)
}
