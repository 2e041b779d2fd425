package gen

import (
	"fmt"
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
	b           strings.Builder
	done        map[btf.Type]bool
	working     map[btf.Type]bool
	enumerators map[string]bool
	// The member names of the named type being written, its anonymous
	// members' included (they share its scope), and those written for
	// padding (__padN) and bitfields (__bfN).
	taken map[string]bool
}

// fresh returns the first of prefix0, prefix1, ... that is no member's
// name in the type being written, and takes it.
func (e *emitter) fresh(prefix string) string {
	for i := 0; ; i++ {
		n := fmt.Sprintf("%s%d", prefix, i)
		if !e.taken[n] {
			e.taken[n] = true
			return n
		}
	}
}

// takeNames records the names of ms, and of the members of its
// anonymous members, as taken.
func (e *emitter) takeNames(ms []btf.Member) {
	for _, m := range ms {
		if m.Name != "" {
			e.taken[cMember(m.Name)] = true
			continue
		}
		switch u := resolve(m.Type).(type) {
		case *btf.Struct:
			e.takeNames(u.Members)
		case *btf.Union:
			e.takeNames(u.Members)
		}
	}
}

func newEmitter() *emitter {
	return &emitter{done: map[btf.Type]bool{}, working: map[btf.Type]bool{}, enumerators: map[string]bool{}, taken: map[string]bool{}}
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

// decl returns the C declaration of a field or variable called name of
// type t (name may be empty for an anonymous member), after emitting any
// named type it depends on.
func (e *emitter) decl(t btf.Type, name, path string, indent string) (string, error) {
	sep := " "
	if name == "" {
		sep = ""
	}
	t = resolve(t)
	if size, tname, ok := opaqueScalar(t); ok {
		// __int128, long double: their bytes (see opaqueScalar).
		return fmt.Sprintf("uint8_t %s[%d] /* %s */", name, size, tname), nil
	}
	switch t := t.(type) {
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
		return cOrdinary(t.Name) + sep + name, nil
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
		return "struct " + cTag(t.Name) + sep + name, nil
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
		return "union " + cTag(t.Name) + sep + name, nil
	default:
		return "", noLayout(t, path)
	}
}

// body returns "struct { ... }" or "union { ... }" with explicit padding.
// A run of bitfields is its bytes, __bfN, with the bitfields' names and
// bits in a comment.
func (e *emitter) body(kind string, members []btf.Member, size uint32, path, indent string) (string, error) {
	var b strings.Builder
	slots, tail, err := layoutSlots(members, size, path, kind == "union")
	if err != nil {
		return "", err
	}
	b.WriteString(kind + " {\n")
	in := indent + "\t"
	for _, s := range joinRuns(slots) {
		var d string
		if s.bits != nil {
			d = fmt.Sprintf("uint8_t %s[%d] /* bitfields, bits from byte %d: %s */", e.fresh("__bf"), s.size, s.off, s.describe())
		} else if d, err = e.decl(s.member.Type, cMember(s.member.Name), s.path, in); err != nil {
			return "", err
		}
		if s.pad > 0 {
			fmt.Fprintf(&b, "%suint8_t %s[%d];\n", in, e.fresh("__pad"), s.pad)
		}
		if kind == "union" && s.off != 0 {
			// A union member past offset 0: only a bitfield can be.
			d = fmt.Sprintf("struct { uint8_t %s[%d]; %s; }", e.fresh("__pad"), s.off, d)
		}
		fmt.Fprintf(&b, "%s%s;\n", in, d)
	}
	if tail > 0 {
		if kind == "struct" {
			fmt.Fprintf(&b, "%suint8_t %s[%d];\n", in, e.fresh("__pad"), tail)
		} else {
			fmt.Fprintf(&b, "%suint8_t %s[%d];\n", in, e.fresh("__size"), size)
		}
	}
	b.WriteString(indent + "}")
	if _, packed := packing(members, size, false); packed {
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
	var body strings.Builder
	n := 0
	for _, v := range t.Values {
		val := fmt.Sprintf("%dULL", v.Value)
		if t.Signed {
			val = fmt.Sprint(int64(v.Value))
		}
		// Enumerators share one name space in C: two enums of the BTF
		// (from different compilation units) may both have one.
		switch {
		case e.enumerators[v.Name]:
			fmt.Fprintf(&body, "\t/* %s = %s, also in another enum */\n", v.Name, val)
			continue
		case libcOrdinary[v.Name]:
			fmt.Fprintf(&body, "\t/* %s = %s, also a name of libc's */\n", v.Name, val)
			continue
		}
		e.enumerators[v.Name] = true
		fmt.Fprintf(&body, "\t%s = %s,\n", v.Name, val)
		n++
	}
	if n == 0 { // C has no empty enums; members of enum type are integers anyway
		fmt.Fprintf(&e.b, "/* enum %s: no values of its own */\n\n", t.Name)
		return nil
	}
	fmt.Fprintf(&e.b, "#ifndef %s\n#define %s\nenum %s {\n%s};\n#endif\n\n", g, g, t.Name, body.String())
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
	taken := e.taken
	e.taken = map[string]bool{}
	defer func() { e.taken = taken }()
	switch u := t.(type) {
	case *btf.Struct:
		e.takeNames(u.Members)
	case *btf.Union:
		e.takeNames(u.Members)
	case *btf.Typedef:
		e.takeNames([]btf.Member{{Type: u.Type}})
	}

	// Dependencies are emitted into e.b by decl while the body is built
	// in its own buffer, so they come first.
	var def, kind, name, ref string
	switch t := t.(type) {
	case *btf.Struct:
		body, err := e.body("struct", t.Members, t.Size, "struct "+t.Name, "")
		if err != nil {
			return err
		}
		kind, name = "struct", cTag(t.Name)
		ref = "struct " + name
		def = ref + strings.TrimPrefix(body, "struct") + ";\n"
	case *btf.Union:
		body, err := e.body("union", t.Members, t.Size, "union "+t.Name, "")
		if err != nil {
			return err
		}
		kind, name = "union", cTag(t.Name)
		ref = "union " + name
		def = ref + strings.TrimPrefix(body, "union") + ";\n"
	case *btf.Typedef:
		d, err := e.decl(t.Type, cOrdinary(t.Name), t.Name, "")
		if err != nil {
			return err
		}
		kind, name = "typedef", cOrdinary(t.Name)
		ref = name
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
			if m.BitfieldSize != 0 {
				continue // within a __bfN byte array: offsetof cannot name it
			}
			if m.Name == "" {
				walk(m.Type, prefix, off)
				continue
			}
			field := prefix + cMember(m.Name)
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
