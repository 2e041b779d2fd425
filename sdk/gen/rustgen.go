package gen

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// RustSDK is the crate the generated Rust uses (sdk/rust, crate wasm-bpf).
const RustSDK = "wasm_bpf"

// rustEmitter writes Rust definitions of BTF types with the kernel's byte
// layout: #[repr(C)] structs of fixed-width integers, pointers as u64,
// char arrays as byte arrays and every gap as a public padding field;
// #[repr(C, packed)] where the kernel's layout needs it; unions as their
// bytes with an accessor per member, runs of bitfields as their bytes
// with a getter and setter per bitfield, enums as integer newtypes with a
// constant per value. After each type, a const block makes the compiler
// check its size and every field's offset (see sdk/rust's layout module):
// the file does not compile when a layout differs, on wasm32 or on a
// 64-bit host alike.
type rustEmitter struct {
	b       strings.Builder
	done    map[btf.Type]string // named (or named-by-us) type -> its Rust name
	working map[btf.Type]bool
	names   scope // the Rust type names of the module
	fns     scope // its function names
	// sections names the structs WriteRust makes of global sections.
	sections map[btf.Type]string
}

func newRustEmitter() *rustEmitter {
	// A C type called self, default or ok must not become Self (a
	// keyword), Default (the trait the types implement) or Ok (the
	// Result variant the functions return).
	names := scope{"Self": "Rust", "Default": "Rust", "Ok": "Rust"}
	return &rustEmitter{done: map[btf.Type]string{}, working: map[btf.Type]bool{}, names: names, fns: scope{}, sections: map[btf.Type]string{}}
}

// rustMaxChecked is the size of the largest struct whose layout check
// rustc evaluates: the probes (sdk/rust's layout module) take about five
// of the million steps rustc's const evaluation allows per byte.
const rustMaxChecked = 192 << 10

// rustKeywords are the identifiers a C name cannot keep in Rust.
var rustKeywords = map[string]bool{
	"as": true, "break": true, "const": true, "continue": true, "crate": true, "else": true, "enum": true,
	"extern": true, "false": true, "fn": true, "for": true, "if": true, "impl": true, "in": true, "let": true,
	"loop": true, "match": true, "mod": true, "move": true, "mut": true, "pub": true, "ref": true, "return": true,
	"self": true, "Self": true, "static": true, "struct": true, "super": true, "trait": true, "true": true,
	"type": true, "unsafe": true, "use": true, "where": true, "while": true, "async": true, "await": true,
	"dyn": true, "abstract": true, "become": true, "box": true, "do": true, "final": true, "macro": true,
	"override": true, "priv": true, "typeof": true, "unsized": true, "virtual": true, "yield": true, "try": true,
}

// RustIdent is a C identifier as a Rust field, function or constant name:
// itself, or with a trailing underscore when it is a Rust keyword (type
// gives type_).
func RustIdent(c string) string {
	if rustKeywords[c] {
		return c + "_"
	}
	return c
}

// rustScalar is the integer type of an integer or enum (a bitfield's), and
// whether it is signed.
func rustScalar(t btf.Type, path string) (string, bool, error) {
	switch u := resolve(t).(type) {
	case *btf.Int:
		s, err := rustSpelling.intType(u, path)
		return s, u.Encoding == btf.Signed, err
	case *btf.Enum:
		s, err := rustSpelling.enumBase(u, path)
		return s, u.Signed, err
	}
	return "", false, &layoutError{path, fmt.Sprintf("bitfield of type %v", t)}
}

// rustType returns the Rust type of t, emitting the named types it
// depends on first; anon names an anonymous struct or union found here.
func (e *rustEmitter) rustType(t btf.Type, path, anon string) (string, error) {
	t = resolve(t)
	if size, _, ok := opaqueScalar(t); ok {
		return fmt.Sprintf("[u8; %d]", size), nil
	}
	switch t := t.(type) {
	case *btf.Int:
		return rustSpelling.intType(t, path)
	case *btf.Float:
		return rustSpelling.floatType(t, path)
	case *btf.Pointer:
		return "u64", nil // a kernel address: its bits, not a Rust pointer
	case *btf.Enum:
		if t.Name != "" {
			return e.emitNamed(t)
		}
		return rustSpelling.enumBase(t, path)
	case *btf.Array:
		inner, err := e.rustType(t.Type, path+"[]", anon)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("[%s; %d]", inner, t.Nelems), nil
	case *btf.Typedef: // of an anonymous composite
		return e.emitNamed(t)
	case *btf.Struct:
		if t.Name == "" {
			return e.emitAnon(t, anon, path)
		}
		return e.emitNamed(t)
	case *btf.Union:
		if t.Name == "" {
			return e.emitAnon(t, anon, path)
		}
		return e.emitNamed(t)
	default:
		return "", noLayout(t, path)
	}
}

// emitAnon writes an anonymous struct or union under the name anon.
func (e *rustEmitter) emitAnon(t btf.Type, anon, path string) (string, error) {
	if n, ok := e.done[t]; ok {
		return n, nil
	}
	name := e.names.claim(t, anon)
	kind := "struct"
	if _, ok := t.(*btf.Union); ok {
		kind = "union"
	}
	return name, e.emitComposite(t, name, "anonymous "+kind+" at "+path)
}

// emitNamed writes the definition of a named struct, union, enum or
// typedef (and first, those it contains) and returns its Rust name.
func (e *rustEmitter) emitNamed(t btf.Type) (string, error) {
	if n, ok := e.done[t]; ok {
		return n, nil
	}
	name := e.names.typeName(t)
	switch u := t.(type) {
	case *btf.Enum:
		return name, e.emitEnum(u, name)
	case *btf.Struct:
		cname := "struct " + u.Name
		if sec, ok := e.sections[t]; ok {
			cname = "section " + sec
		}
		return name, e.emitComposite(u, name, cname)
	case *btf.Union:
		return name, e.emitComposite(u, name, "union "+u.Name)
	case *btf.Typedef:
		if c, ok := resolve(u).(*btf.Typedef); ok && c == u {
			// Of an anonymous struct or union: the struct takes its name.
			inner := skipQualifiers(u.Type)
			if n, ok := e.done[inner]; ok {
				e.done[t] = n
				return n, nil
			}
			if err := e.emitComposite(inner, name, u.Name); err != nil {
				return "", err
			}
			e.done[t] = name
			return name, nil
		}
		if e.working[t] {
			return "", &layoutError{u.Name, "type contains itself"}
		}
		e.working[t] = true
		defer delete(e.working, t)
		typ, err := e.rustType(u.Type, u.Name, name+"Inner")
		if err != nil {
			return "", err
		}
		size, err := btf.Sizeof(u)
		if err != nil {
			return "", &layoutError{u.Name, fmt.Sprintf("no size: %v", err)}
		}
		e.done[t] = name
		fmt.Fprintf(&e.b, "/// typedef %s.\npub type %s = %s;\n", u.Name, name, typ)
		fmt.Fprintf(&e.b, "const _: () = assert!(core::mem::size_of::<%s>() == %d, %q);\n\n", name, size, u.Name+": the Rust size differs from the kernel's")
		return name, nil
	}
	return "", fmt.Errorf("%v: not a named struct, union, enum or typedef", t)
}

func (e *rustEmitter) emitEnum(t *btf.Enum, name string) error {
	base, err := rustSpelling.enumBase(t, "enum "+t.Name)
	if err != nil {
		return err
	}
	e.done[t] = name
	fmt.Fprintf(&e.b, "/// enum %s: any value of its size, with a constant per enumerator.\n", t.Name)
	fmt.Fprintf(&e.b, "#[repr(transparent)]\n#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]\npub struct %s(pub %s);\n\n", name, base)
	if len(t.Values) > 0 {
		fmt.Fprintf(&e.b, "impl %s {\n", name)
		for _, v := range t.Values {
			val := fmt.Sprint(v.Value)
			if t.Signed {
				val = fmt.Sprint(int64(v.Value))
			}
			fmt.Fprintf(&e.b, "    pub const %s: %s = %s(%s);\n", RustIdent(v.Name), name, name, val)
		}
		e.b.WriteString("}\n\n")
	}
	fmt.Fprintf(&e.b, "// SAFETY: an integer.\nunsafe impl %s::Pod for %s {}\n\n", RustSDK, name)
	return nil
}

// emitComposite writes a struct or union (after the types it contains).
func (e *rustEmitter) emitComposite(t btf.Type, name, cname string) error {
	if e.working[t] {
		return &layoutError{cname, "type contains itself"}
	}
	e.working[t] = true
	defer delete(e.working, t)
	var def string
	var err error
	switch u := t.(type) {
	case *btf.Struct:
		def, err = e.structDef(u, name, cname)
	case *btf.Union:
		def, err = e.unionDef(u, name, cname)
	}
	if err != nil {
		return err
	}
	e.done[t] = name
	e.b.WriteString(def)
	return nil
}

// field is one field of a generated struct: its name, Rust type and byte
// offset (for the layout check).
type rustField struct {
	name, typ, doc string
	off, size      int
}

// structDef returns the definition of a struct with the members at the
// kernel's offsets, its Pod and Default impls, its bitfield accessors and
// its layout check.
func (e *rustEmitter) structDef(t *btf.Struct, name, cname string) (string, error) {
	if t.Size > rustMaxChecked {
		return "", &layoutError{cname, fmt.Sprintf("%d bytes: rustc checks the layout of structs up to %d bytes (its compile-time evaluation stops there)", t.Size, rustMaxChecked)}
	}
	slots, tail, err := layoutSlots(t.Members, t.Size, cname, false)
	if err != nil {
		return "", err
	}
	var fields []rustField
	var accessors strings.Builder
	used := map[string]bool{}
	unique := func(n string) string {
		for i := 1; used[n]; i++ {
			n = fmt.Sprintf("%s%d", strings.TrimRight(n, "0123456789"), i)
		}
		used[n] = true
		return n
	}
	// C names first, so that a generated name yields to them.
	for _, s := range slots {
		if len(s.bits) == 0 && s.member.Name != "" {
			used[RustIdent(s.member.Name)] = true
		}
	}
	pads := 0
	pad := func(off, n int) {
		fields = append(fields, rustField{name: unique(fmt.Sprintf("__pad_%d", pads)), typ: fmt.Sprintf("[u8; %d]", n), off: off, size: n})
		pads++
	}
	for _, s := range slots {
		if s.pad > 0 {
			pad(s.off-s.pad, s.pad)
		}
		if len(s.bits) > 0 {
			store := unique(fmt.Sprintf("__bitfield_%d", s.off))
			fields = append(fields, rustField{name: store, typ: fmt.Sprintf("[u8; %d]", s.size), off: s.off, size: s.size,
				doc: "bitfields " + bitNames(s.bits) + ": use their accessors"})
			for _, b := range s.bits {
				if err := writeBitAccessors(&accessors, b, cname+"."+b.Name, "self."+store, int(b.Offset)-s.off*8); err != nil {
					return "", err
				}
			}
			continue
		}
		m := s.member
		fname := RustIdent(m.Name)
		anon := name + GoName(m.Name)
		if m.Name == "" {
			fname = unique(fmt.Sprintf("anon%d", s.index))
			anon = name + GoName(fname)
		}
		typ, err := e.rustType(m.Type, s.path, anon)
		if err != nil {
			return "", err
		}
		fields = append(fields, rustField{name: fname, typ: typ, doc: memberDoc(m.Type), off: s.off, size: s.size})
	}
	if tail > 0 {
		pad(int(t.Size)-tail, tail)
	}
	_, packed := packing(t.Members, t.Size, true)

	var b strings.Builder
	fmt.Fprintf(&b, "/// %s, laid out as the kernel lays it out.\n", cname)
	if packed {
		b.WriteString("#[repr(C, packed)]\n")
	} else {
		b.WriteString("#[repr(C)]\n")
	}
	fmt.Fprintf(&b, "#[derive(Clone, Copy, Debug)]\npub struct %s {\n", name)
	for _, f := range fields {
		if f.doc != "" {
			fmt.Fprintf(&b, "    /// %s\n", f.doc)
		}
		fmt.Fprintf(&b, "    pub %s: %s,\n", f.name, f.typ)
	}
	b.WriteString("}\n\n")
	writePodImpls(&b, name, "fields of integer and byte types; every gap is a field (the checks below)")
	if accessors.Len() > 0 {
		fmt.Fprintf(&b, "impl %s {\n%s}\n\n", name, accessors.String())
	}
	// The layout check.
	fmt.Fprintf(&b, "const _: () = {\n    assert!(core::mem::size_of::<%s>() == %d, %q);\n", name, t.Size, cname+": the Rust size differs from the kernel's")
	var checks []rustField
	for _, f := range fields {
		if f.size > 0 {
			checks = append(checks, f)
		}
	}
	if len(checks) > 0 {
		writeOffsetChecks(&b, name, cname, int(t.Size), checks)
	}
	b.WriteString("};\n\n")
	return b.String(), nil
}

// writeOffsetChecks writes the const asserts of the fields' offsets: two
// (three for types past 64 KiB) probe values whose bytes say where they
// are, and a field's first byte in them is its offset.
func writeOffsetChecks(b *strings.Builder, name, cname string, size int, fields []rustField) {
	shifts := []int{0, 8}
	fn := "offset"
	if size > 1<<16 {
		shifts, fn = []int{0, 8, 16}, "offset_wide"
	}
	probes := []string{"LO", "HI", "TOP"}[:len(shifts)]
	for i, s := range shifts {
		fmt.Fprintf(b, "    const %s: %s = %s::layout::probe::<%s, %d>(%d);\n", probes[i], name, RustSDK, name, size, s)
	}
	for _, f := range fields {
		var args []string
		for _, p := range probes {
			args = append(args, p+"."+f.name)
		}
		fmt.Fprintf(b, "    assert!(%s::layout::%s(%s) == %d, %q);\n", RustSDK, fn, strings.Join(args, ", "), f.off, fmt.Sprintf("%s.%s: not at the kernel's offset %d", cname, f.name, f.off))
	}
}

func writePodImpls(b *strings.Builder, name, why string) {
	fmt.Fprintf(b, "// SAFETY: #[repr(C)], %s.\nunsafe impl %s::Pod for %s {}\n\n", why, RustSDK, name)
	fmt.Fprintf(b, "impl Default for %s {\n    fn default() -> Self {\n        %s::Pod::zeroed()\n    }\n}\n\n", name, RustSDK)
}

// memberDoc says what a field's plain integer stands for, when it is not
// just an integer.
func memberDoc(t btf.Type) string {
	switch u := resolve(t).(type) {
	case *btf.Pointer:
		return "A pointer: the kernel address's bits."
	case *btf.Array:
		if _, ok := resolve(u.Type).(*btf.Pointer); ok {
			return "Pointers: the kernel addresses' bits."
		}
	}
	return ""
}

func bitNames(bits []btf.Member) string {
	var ns []string
	for _, b := range bits {
		ns = append(ns, b.Name)
	}
	return strings.Join(ns, ", ")
}

// writeBitAccessors writes the getter and setter of bitfield m, stored at
// bit `bit` of the byte array expression store.
func writeBitAccessors(b *strings.Builder, m btf.Member, path, store string, bit int) error {
	if m.Name == "" {
		return nil // unnamed bitfields are padding
	}
	typ, signed, err := rustScalar(m.Type, path)
	if err != nil {
		return err
	}
	get := "get_bits"
	if signed {
		get = "get_bits_signed"
	}
	id := RustIdent(m.Name)
	fmt.Fprintf(b, "    /// Bitfield %s: %d bits at bit %d.\n", m.Name, m.BitfieldSize, m.Offset)
	fmt.Fprintf(b, "    pub fn %s(&self) -> %s {\n        %s::layout::%s(&%s, %d, %d) as %s\n    }\n\n", id, typ, RustSDK, get, store, bit, m.BitfieldSize, typ)
	fmt.Fprintf(b, "    pub fn set_%s(&mut self, value: %s) {\n        %s::layout::set_bits(&mut %s, %d, %d, value as u64)\n    }\n\n", strings.TrimSuffix(id, "_"), typ, RustSDK, store, bit, m.BitfieldSize)
	return nil
}

// unionDef returns a union as its bytes (so that every byte of a value is
// initialised, whichever member was written) with an accessor per member.
func (e *rustEmitter) unionDef(t *btf.Union, name, cname string) (string, error) {
	slots, _, err := layoutSlots(t.Members, t.Size, cname, true)
	if err != nil {
		return "", err
	}
	var acc strings.Builder
	for _, s := range slots {
		for _, b := range s.bits {
			if err := writeBitAccessors(&acc, b, memberPath(cname, b), "self.bytes", int(b.Offset)); err != nil {
				return "", err
			}
		}
		if s.bits != nil {
			continue
		}
		m := s.member
		id := RustIdent(m.Name)
		anon := name + GoName(m.Name)
		if m.Name == "" {
			id = fmt.Sprintf("anon%d", s.index)
			anon = name + GoName(id)
		}
		typ, err := e.rustType(m.Type, s.path, anon)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&acc, "    /// Member %s (at byte %d).\n", m.Name, s.off)
		fmt.Fprintf(&acc, "    pub fn %s(&self) -> %s {\n        %s::layout::read(&self.bytes, %d)\n    }\n\n", id, typ, RustSDK, s.off)
		fmt.Fprintf(&acc, "    pub fn set_%s(&mut self, value: %s) {\n        %s::layout::write(&mut self.bytes, %d, &value)\n    }\n\n", strings.TrimSuffix(id, "_"), typ, RustSDK, s.off)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "/// %s: its bytes, with an accessor per member.\n", cname)
	fmt.Fprintf(&b, "#[repr(C)]\n#[derive(Clone, Copy, Debug)]\npub struct %s {\n    pub bytes: [u8; %d],\n}\n\n", name, t.Size)
	writePodImpls(&b, name, "bytes")
	if acc.Len() > 0 {
		fmt.Fprintf(&b, "impl %s {\n%s}\n\n", name, acc.String())
	}
	fmt.Fprintf(&b, "const _: () = assert!(core::mem::size_of::<%s>() == %d, %q);\n\n", name, t.Size, cname+": the Rust size differs from the kernel's")
	return b.String(), nil
}

// WriteRust writes a Rust module for obj, to be used with the wasm-bpf
// crate (sdk/rust) as `mod bpf;`: types with the kernel's layout for the
// named types (as WriteHeader takes them) or, when none is named, for map
// keys and values and the types global pointers point to; a struct per
// global section (Rodata, Data, Bss) and open_rodata, ...; set_VAR for
// each .rodata and .data variable, to set its value before load; open_MAP
// for each map with BTF key and value types, returning a TypedMap; and
// attach_programs, which attaches the programs that need no target.
// source names the object in the file's comment.
func WriteRust(w io.Writer, obj *Object, source string, names []string) error {
	types, err := obj.types(source, names)
	if err != nil {
		return err
	}
	e := newRustEmitter()
	for _, t := range types {
		if _, err := e.emitNamed(t); err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
	}
	var fns strings.Builder
	for _, g := range obj.Globals {
		st := globalStruct(g, g.Field)
		e.sections[st] = g.Section
		sname, err := e.emitNamed(st)
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		fn := e.fns.claim(g.Section, "open_"+g.Field, "open_"+g.Field+"_map")
		// A global section is an array map of one element, key 0.
		fmt.Fprintf(&fns, "/// Map %s of the object: key 0 holds its variables.\n", g.Section)
		fmt.Fprintf(&fns, "pub fn %s(obj: &%s::Object) -> %s::Result<%s::TypedMap<'_, u32, %s>> {\n    obj.map(%q)?.typed()\n}\n\n", fn, RustSDK, RustSDK, RustSDK, sname, g.Section)
		if g.Offset < 0 {
			continue // .bss has no bytes in the file: set it through its map
		}
		for _, v := range g.Vars {
			vr, ok := v.Type.(*btf.Var)
			if !ok {
				continue
			}
			typ, err := e.rustType(vr.Type, g.Section+"."+vr.Name, GoName(vr.Name))
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			set := "set_" + strings.TrimSuffix(RustIdent(vr.Name), "_")
			fn := e.fns.claim(vr, set, set+"_var")
			fmt.Fprintf(&fns, "/// Sets %s variable %s before the object is loaded.\n", g.Section, vr.Name)
			fmt.Fprintf(&fns, "pub fn %s(obj: &mut %s::ObjectBuilder<'_>, value: %s) -> %s::Result<()> {\n    obj.set_global(%q, &value).map(|_| ())\n}\n\n", fn, RustSDK, typ, RustSDK, vr.Name)
		}
	}
	for _, m := range obj.Maps {
		if !typedMap(m) {
			continue
		}
		kt, err := e.rustType(m.Key, "map "+m.Name+" key", GoName(m.Name)+"Key")
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		vt, err := e.rustType(m.Value, "map "+m.Name+" value", GoName(m.Name)+"Value")
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		open := "open_" + strings.TrimSuffix(RustIdent(m.Name), "_")
		fn := e.fns.claim(m.Name, open, open+"_map")
		fmt.Fprintf(&fns, "/// Map %s of the object, with its BTF key and value types.\n", m.Name)
		fmt.Fprintf(&fns, "pub fn %s(obj: &%s::Object) -> %s::Result<%s::TypedMap<'_, %s, %s>> {\n    obj.map(%q)?.typed()\n}\n\n", fn, RustSDK, RustSDK, RustSDK, kt, vt, m.Name)
	}
	if auto := obj.autoAttach(); len(auto) > 0 {
		fn := e.fns.claim("attach_programs", "attach_programs", "attach_all_programs")
		fmt.Fprintf(&fns, "/// Attaches every program of the object whose section says where: %s.\n", strings.Join(auto, ", "))
		fns.WriteString("/// Socket, XDP, cgroup and sockops programs need a target: use Object::attach_to.\n")
		fmt.Fprintf(&fns, "pub fn %s(obj: &%s::Object) -> %s::Result<()> {\n    for prog in [", fn, RustSDK, RustSDK)
		for i, n := range auto {
			if i > 0 {
				fns.WriteString(", ")
			}
			fmt.Fprintf(&fns, "%q", n)
		}
		fns.WriteString("].iter() {\n        obj.attach(prog)?;\n    }\n    Ok(())\n}\n\n")
	}

	var b strings.Builder
	fmt.Fprintf(&b, "// Code generated by wasm-bpf gen rust from %s; DO NOT EDIT.\n", filepath.Base(source))
	fmt.Fprintf(&b, "//! The types of %s with the kernel's layout, checked by the\n//! compiler, and typed access to its maps and globals (crate wasm-bpf).\n", filepath.Base(source))
	b.WriteString("#![allow(dead_code, non_camel_case_types, non_snake_case, non_upper_case_globals, clippy::all)]\n\n")
	b.WriteString(e.b.String())
	b.WriteString(fns.String())
	_, err = io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}
