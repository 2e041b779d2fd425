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

// intType is the fixed-width C type of a BTF integer.
func intType(i *btf.Int, path string) (string, error) {
	// clang writes plain char as a signed (or unsigned) int named "char".
	if i.Size == 1 && (i.Encoding == btf.Char || i.Name == "char") {
		return "char", nil // keeps char arrays usable as strings
	}
	if i.Encoding == btf.Bool && i.Size == 1 {
		return "uint8_t", nil // _Bool has no fixed size in C
	}
	signed := i.Encoding == btf.Signed
	switch i.Size {
	case 1, 2, 4, 8:
		if signed {
			return fmt.Sprintf("int%d_t", i.Size*8), nil
		}
		return fmt.Sprintf("uint%d_t", i.Size*8), nil
	}
	return "", &layoutError{path, fmt.Sprintf("%d-byte integer %q has no fixed-width C type", i.Size, i.Name)}
}

// fixedWidth reports whether an integer of size bytes has a fixed-width
// type (in C and Go alike).
func fixedWidth(size uint32) bool { return size == 1 || size == 2 || size == 4 || size == 8 }

// alignOf is the wasm32 alignment of t as decl writes it.
func alignOf(t btf.Type) int {
	switch t := resolve(t).(type) {
	case *btf.Int:
		if !fixedWidth(t.Size) {
			return 1
		}
		return int(t.Size)
	case *btf.Float:
		if t.Size != 4 && t.Size != 8 {
			return 1
		}
		return int(t.Size)
	case *btf.Enum:
		return int(t.Size)
	case *btf.Pointer:
		return 8
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
	a := membersAlign(ms)
	if needsPacking(ms, size, a) {
		return 1
	}
	return a
}

// membersAlign is the largest alignment of the members as decl writes
// them; bitfields become bytes.
func membersAlign(ms []btf.Member) int {
	a := 1
	for _, m := range ms {
		if m.BitfieldSize != 0 {
			continue
		}
		if x := alignOf(m.Type); x > a {
			a = x
		}
	}
	return a
}

func needsPacking(ms []btf.Member, size uint32, align int) bool {
	if int(size)%align != 0 {
		return true
	}
	for _, m := range ms {
		if m.BitfieldSize == 0 && int(m.Offset/8)%alignOf(m.Type) != 0 {
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
		if !fixedWidth(t.Size) {
			// __int128: wasm32 and the BPF target may align it
			// differently; its bytes are what is sure.
			return fmt.Sprintf("uint8_t %s[%d] /* %s */", name, t.Size, t.Name), nil
		}
		ct, err := intType(t, path)
		if err != nil {
			return "", err
		}
		return ct + sep + name, nil
	case *btf.Float:
		switch t.Size {
		case 4:
			return "float" + sep + name, nil
		case 8:
			return "double" + sep + name, nil
		}
		// long double is 16 bytes on the BPF target, 8 on wasm32.
		return fmt.Sprintf("uint8_t %s[%d] /* %s */", name, t.Size, t.Name), nil
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
		ct, err := intType(&btf.Int{Size: t.Size, Encoding: signedIf(t.Signed)}, path)
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
	case *btf.Fwd:
		return "", &layoutError{path, fmt.Sprintf("incomplete type %s %s (only declared in the object's BTF)", t.Kind, t.Name)}
	case *btf.FuncProto, *btf.Func:
		return "", &layoutError{path, "function type (only a pointer to one can be a field)"}
	case *btf.Void:
		return "", &layoutError{path, "void"}
	default:
		return "", &layoutError{path, fmt.Sprintf("unsupported BTF type %v", t)}
	}
}

func signedIf(s bool) btf.IntEncoding {
	if s {
		return btf.Signed
	}
	return 0
}

// body returns "struct { ... }" or "union { ... }" with explicit padding.
// A run of bitfields is its bytes, __bfN, with the bitfields' names and
// bits in a comment.
func (e *emitter) body(kind string, members []btf.Member, size uint32, path, indent string) (string, error) {
	var b strings.Builder
	ms, err := layoutMembers(members, path)
	if err != nil {
		return "", err
	}
	b.WriteString(kind + " {\n")
	in := indent + "\t"
	cur := 0
	maxEnd := 0
	for _, lm := range ms {
		m := lm.m
		mpath := path + "." + m.Name
		if m.Name == "" {
			mpath = path + ".(anonymous)"
		}
		var d string
		var off, msize int
		if r := lm.bits; r != nil {
			off, msize = r.off, r.size
			d = fmt.Sprintf("uint8_t %s[%d] /* bitfields, bits from byte %d: %s */", e.fresh("__bf"), r.size, r.off, r.describe())
		} else {
			off = int(m.Offset / 8)
			// decl first: it says best why a type cannot be laid out.
			if d, err = e.decl(m.Type, cMember(m.Name), mpath, in); err != nil {
				return "", err
			}
			sz, err := btf.Sizeof(m.Type)
			if err != nil {
				return "", &layoutError{mpath, fmt.Sprintf("no size: %v", err)}
			}
			msize = sz
		}
		if kind == "struct" {
			if off < cur {
				return "", &layoutError{mpath, fmt.Sprintf("overlaps the previous member (offset %d < %d)", off, cur)}
			}
			if off > cur {
				fmt.Fprintf(&b, "%suint8_t %s[%d];\n", in, e.fresh("__pad"), off-cur)
			}
		} else if off != 0 {
			// A union member past offset 0: only a bitfield can be.
			d = fmt.Sprintf("struct { uint8_t %s[%d]; %s; }", e.fresh("__pad"), off, d)
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
			fmt.Fprintf(&b, "%suint8_t %s[%d];\n", in, e.fresh("__pad"), int(size)-maxEnd)
		} else {
			fmt.Fprintf(&b, "%suint8_t %s[%d];\n", in, e.fresh("__size"), size)
		}
	}
	b.WriteString(indent + "}")
	if needsPacking(members, size, membersAlign(members)) {
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
