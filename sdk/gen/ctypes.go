package gen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// layoutError says why a type cannot be given a wasm32 layout identical to
// the kernel's, naming the field (as a path from the requested type).
type layoutError struct {
	path   string
	reason string
}

func (e *layoutError) Error() string {
	return fmt.Sprintf("%s: %s", e.path, e.reason)
}

// emitter writes C definitions of BTF types for wasm32. Every integer is
// written as a fixed-width type, pointers and longs as 64-bit integers, and
// every gap as explicit padding, so the layout does not depend on the
// target's idea of long, pointer or alignment; _Static_asserts make the
// compiler prove it. Named struct, union and enum definitions are emitted
// once each, before first use, each under an include guard of its own so
// that a skeleton and a type header can both be included.
type emitter struct {
	b       strings.Builder
	done    map[btf.Type]bool
	working map[btf.Type]bool
}

func newEmitter() *emitter {
	return &emitter{done: map[btf.Type]bool{}, working: map[btf.Type]bool{}}
}

// skipQualifiers removes const, volatile, restrict and type tags: none of
// them changes a layout.
func skipQualifiers(t btf.Type) btf.Type {
	for {
		switch q := t.(type) {
		case *btf.Const:
			t = q.Type
		case *btf.Volatile:
			t = q.Type
		case *btf.Restrict:
			t = q.Type
		case *btf.TypeTag:
			t = q.Type
		default:
			return t
		}
	}
}

// resolve skips qualifiers and typedefs, except typedefs of anonymous
// composites, which are the only name such a type has.
func resolve(t btf.Type) btf.Type {
	for {
		t = skipQualifiers(t)
		td, ok := t.(*btf.Typedef)
		if !ok {
			return t
		}
		switch u := skipQualifiers(td.Type).(type) {
		case *btf.Struct:
			if u.Name == "" {
				return td
			}
		case *btf.Union:
			if u.Name == "" {
				return td
			}
		}
		t = td.Type
	}
}

func guardName(kind, name string) string {
	return "WASM_BPF_TYPE_" + kind + "_" + name
}

// alignOf is the wasm32 alignment of t as decl writes it.
func alignOf(t btf.Type) int {
	t = resolve(t)
	if a, ok := scalarAlign(t); ok {
		return a
	}
	switch t := t.(type) {
	case *btf.Array:
		return alignOf(t.Type)
	case *btf.Typedef:
		return alignOf(skipQualifiers(t.Type))
	case *btf.Struct:
		return compositeAlign(t.Members, t.Size)
	case *btf.Union:
		return compositeAlign(t.Members, t.Size)
	}
	return 1
}

// compositeAlign is the alignment the emitted struct or union gets: that of
// its widest member, or 1 when the BTF layout needed packing.
func compositeAlign(ms []btf.Member, size uint32) int {
	a := 1
	for _, m := range ms {
		if x := alignOf(m.Type); x > a {
			a = x
		}
	}
	if needsPacking(ms, size, a) {
		return 1
	}
	return a
}

func needsPacking(ms []btf.Member, size uint32, align int) bool {
	if int(size)%align != 0 {
		return true
	}
	for _, m := range ms {
		if int(m.Offset/8)%alignOf(m.Type) != 0 {
			return true
		}
	}
	return false
}

// decl returns the C declaration of a field or variable called name of
// type t (name may be empty for an anonymous member), after emitting any
// named type it depends on.
func (e *emitter) decl(t btf.Type, name, path string, indent string) (string, error) {
	sep := " "
	if name == "" {
		sep = ""
	}
	switch t := resolve(t).(type) {
	case *btf.Int:
		ct, err := cSpelling.intType(t, path)
		if err != nil {
			return "", err
		}
		return ct + sep + name, nil
	case *btf.Float:
		ct, err := cSpelling.floatType(t, path)
		if err != nil {
			return "", err
		}
		return ct + sep + name, nil
	case *btf.Pointer:
		// A kernel pointer is 8 bytes and meaningless in the guest: keep
		// its bits, not its type.
		return "uint64_t" + sep + name + " /* pointer */", nil
	case *btf.Enum:
		if t.Name != "" {
			if err := e.emitEnum(t); err != nil {
				return "", err
			}
		}
		ct, err := cSpelling.enumBase(t, path)
		if err != nil {
			return "", err
		}
		comment := ""
		if t.Name != "" {
			comment = " /* enum " + t.Name + " */"
		}
		return ct + sep + name + comment, nil
	case *btf.Array:
		inner, err := e.decl(t.Type, name+fmt.Sprintf("[%d]", t.Nelems), path+"[]", indent)
		if err != nil {
			return "", err
		}
		return inner, nil
	case *btf.Typedef: // of an anonymous composite
		if err := e.emitNamed(t); err != nil {
			return "", err
		}
		return t.Name + sep + name, nil
	case *btf.Struct:
		if t.Name == "" {
			body, err := e.body("struct", t.Members, t.Size, path, indent)
			if err != nil {
				return "", err
			}
			return body + sep + name, nil
		}
		if err := e.emitNamed(t); err != nil {
			return "", err
		}
		return "struct " + t.Name + sep + name, nil
	case *btf.Union:
		if t.Name == "" {
			body, err := e.body("union", t.Members, t.Size, path, indent)
			if err != nil {
				return "", err
			}
			return body + sep + name, nil
		}
		if err := e.emitNamed(t); err != nil {
			return "", err
		}
		return "union " + t.Name + sep + name, nil
	default:
		return "", noLayout(t, path)
	}
}

// body returns "struct { ... }" or "union { ... }" with explicit padding.
func (e *emitter) body(kind string, members []btf.Member, size uint32, path, indent string) (string, error) {
	var b strings.Builder
	ms := append([]btf.Member(nil), members...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Offset < ms[j].Offset })
	b.WriteString(kind + " {\n")
	in := indent + "\t"
	cur, pad := 0, 0
	maxEnd := 0
	for _, m := range ms {
		mpath := memberPath(path, m)
		if m.BitfieldSize != 0 {
			return "", &layoutError{mpath, fmt.Sprintf("bitfield of %d bits at bit %d: offsetof cannot check it; use a whole integer", m.BitfieldSize, m.Offset)}
		}
		if m.Offset%8 != 0 {
			return "", &layoutError{mpath, fmt.Sprintf("member at bit offset %d is not byte-aligned", m.Offset)}
		}
		off := int(m.Offset / 8)
		// decl first: it says best why a type cannot be laid out.
		d, err := e.decl(m.Type, m.Name, mpath, in)
		if err != nil {
			return "", err
		}
		msize, err := btf.Sizeof(m.Type)
		if err != nil {
			return "", &layoutError{mpath, fmt.Sprintf("no size: %v", err)}
		}
		if kind == "struct" {
			if off < cur {
				return "", &layoutError{mpath, fmt.Sprintf("overlaps the previous member (offset %d < %d)", off, cur)}
			}
			if off > cur {
				fmt.Fprintf(&b, "%suint8_t __pad%d[%d];\n", in, pad, off-cur)
				pad++
			}
		}
		fmt.Fprintf(&b, "%s%s;\n", in, d)
		cur = off + msize
		if cur > maxEnd {
			maxEnd = cur
		}
	}
	if maxEnd > int(size) {
		return "", &layoutError{path, fmt.Sprintf("members end at byte %d, beyond the type's size %d", maxEnd, size)}
	}
	if maxEnd < int(size) {
		if kind == "struct" {
			fmt.Fprintf(&b, "%suint8_t __pad%d[%d];\n", in, pad, int(size)-maxEnd)
		} else {
			fmt.Fprintf(&b, "%suint8_t __size[%d];\n", in, size)
		}
	}
	b.WriteString(indent + "}")
	a := 1
	for _, m := range ms {
		if x := alignOf(m.Type); x > a {
			a = x
		}
	}
	if needsPacking(ms, size, a) {
		b.WriteString(" __attribute__((packed))")
	}
	return b.String(), nil
}

func (e *emitter) emitEnum(t *btf.Enum) error {
	if e.done[t] {
		return nil
	}
	e.done[t] = true
	g := guardName("enum", t.Name)
	fmt.Fprintf(&e.b, "#ifndef %s\n#define %s\nenum %s {\n", g, g, t.Name)
	for _, v := range t.Values {
		if t.Signed {
			fmt.Fprintf(&e.b, "\t%s = %d,\n", v.Name, int64(v.Value))
		} else {
			fmt.Fprintf(&e.b, "\t%s = %dULL,\n", v.Name, v.Value)
		}
	}
	fmt.Fprintf(&e.b, "};\n#endif\n\n")
	return nil
}

// emitNamed writes the definition of a named struct, union or typedef (and
// first, those it contains), with size and offset asserts.
func (e *emitter) emitNamed(t btf.Type) error {
	if e.done[t] {
		return nil
	}
	if e.working[t] {
		// A value cycle is impossible in C; through pointers there is
		// none here since pointers become integers.
		return &layoutError{t.TypeName(), "type contains itself"}
	}
	e.working[t] = true
	defer delete(e.working, t)

	// Dependencies are emitted into e.b by decl while the body is built
	// in its own buffer, so they come first.
	var def, kind, name, ref string
	switch t := t.(type) {
	case *btf.Struct:
		body, err := e.body("struct", t.Members, t.Size, "struct "+t.Name, "")
		if err != nil {
			return err
		}
		kind, name, ref = "struct", t.Name, "struct "+t.Name
		def = "struct " + t.Name + strings.TrimPrefix(body, "struct") + ";\n"
	case *btf.Union:
		body, err := e.body("union", t.Members, t.Size, "union "+t.Name, "")
		if err != nil {
			return err
		}
		kind, name, ref = "union", t.Name, "union "+t.Name
		def = "union " + t.Name + strings.TrimPrefix(body, "union") + ";\n"
	case *btf.Typedef:
		d, err := e.decl(t.Type, t.Name, t.Name, "")
		if err != nil {
			return err
		}
		kind, name, ref = "typedef", t.Name, t.Name
		def = "typedef " + d + ";\n"
	case *btf.Enum:
		return e.emitEnum(t)
	default:
		return fmt.Errorf("%v: not a named struct, union, enum or typedef", t)
	}
	e.done[t] = true
	size, err := btf.Sizeof(t)
	if err != nil {
		return &layoutError{ref, fmt.Sprintf("no size: %v", err)}
	}
	g := guardName(kind, name)
	fmt.Fprintf(&e.b, "#ifndef %s\n#define %s\n%s", g, g, def)
	e.asserts(ref, t, size)
	fmt.Fprintf(&e.b, "#endif\n\n")
	return nil
}

// asserts writes _Static_assert on the size of ref and the offset of each
// of its fields, descending into anonymous and nested composite members.
func (e *emitter) asserts(ref string, t btf.Type, size int) {
	msg := ref + ": wasm32 layout differs from the kernel's"
	fmt.Fprintf(&e.b, "_Static_assert(sizeof(%s) == %d, %q);\n", ref, size, msg)
	var walk func(t btf.Type, prefix string, base int)
	walk = func(t btf.Type, prefix string, base int) {
		var ms []btf.Member
		switch u := resolve(t).(type) {
		case *btf.Struct:
			ms = u.Members
		case *btf.Union:
			ms = u.Members
		default:
			return
		}
		for _, m := range ms {
			off := base + int(m.Offset/8)
			if m.Name == "" {
				walk(m.Type, prefix, off)
				continue
			}
			field := prefix + m.Name
			fmt.Fprintf(&e.b, "_Static_assert(__builtin_offsetof(%s, %s) == %d, %q);\n", ref, field, off, msg)
			// Named composite members carry their own asserts.
			if st, ok := resolve(m.Type).(*btf.Struct); ok && st.Name == "" {
				walk(st, field+".", off)
			}
			if un, ok := resolve(m.Type).(*btf.Union); ok && un.Name == "" {
				walk(un, field+".", off)
			}
		}
	}
	walk(t, "", 0)
}
