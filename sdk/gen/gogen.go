package gen

import (
	"fmt"
	"go/format"
	"io"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/cilium/ebpf/btf"
)

// SDKImport is the import path of the Go guest SDK the generated code uses.
const SDKImport = "github.com/wasm-bpf/wasm-bpf/sdk/go/wasmbpf"

// goEmitter writes Go definitions of BTF types with the kernel's byte
// layout: fixed-width integers, pointers as uint64, char arrays as byte
// arrays, every gap as a blank padding field. What Go cannot lay out as
// the kernel does becomes bytes, commented: unions (Go has none), runs of
// bitfields (with accessor methods on named structs), integers and floats
// of no Go size (__int128, long double), and members Go would align
// differently (misaligned or in a packed struct, whose size is not a
// multiple of Go's alignment). A zero-size member at the very end is left
// out: Go pads after one. The same layout holds on GOARCH=wasm and on
// 64-bit hosts; compile-time checks on every size and offset make the
// compiler prove it.
type goEmitter struct {
	b       strings.Builder
	checks  strings.Builder
	done    map[btf.Type]string // named type -> its Go name
	aligns  map[string]int      // Go type name -> its Go alignment
	working map[btf.Type]bool
	names   scope // the Go names of the file's scope
	// sections names the structs WriteGo makes of global sections.
	sections map[btf.Type]string
	// What the file uses: unsafe for the decoders and checks, the SDK for
	// variables, typed maps and bitfield accessors.
	unsafe, sdk bool
}

func newGoEmitter() *goEmitter {
	return &goEmitter{done: map[btf.Type]string{}, aligns: map[string]int{}, working: map[btf.Type]bool{},
		names: scope{}, sections: map[btf.Type]string{}}
}

// GoName turns a C identifier into an exported Go one: execve_event gives
// ExecveEvent, min_duration_ns gives MinDurationNs, ST_RUN gives StRun.
func GoName(c string) string {
	var b strings.Builder
	for _, part := range strings.Split(c, "_") {
		if part == "" {
			continue
		}
		if strings.ToUpper(part) == part {
			part = strings.ToLower(part) // ST_RUN gives StRun
		}
		r := []rune(part)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	s := b.String()
	if s == "" || !unicode.IsLetter([]rune(s)[0]) {
		s = "X" + s
	}
	return s
}

// goType returns the Go type expression of t and its Go alignment,
// emitting the named types it depends on first.
func (e *goEmitter) goType(t btf.Type, path string) (string, int, error) {
	t = resolve(t)
	if size, _, ok := opaqueScalar(t); ok {
		return fmt.Sprintf("[%d]byte", size), 1, nil
	}
	switch t := t.(type) {
	case *btf.Int:
		typ, err := goSpelling.intType(t, path)
		return typ, int(t.Size), err
	case *btf.Float:
		typ, err := goSpelling.floatType(t, path)
		return typ, int(t.Size), err
	case *btf.Pointer:
		return "uint64", 8, nil // a kernel address: its bits, not a Go pointer
	case *btf.Enum:
		if t.Name != "" {
			n, err := e.emitNamed(t)
			return n, int(t.Size), err
		}
		typ, err := goSpelling.enumBase(t, path)
		return typ, int(t.Size), err
	case *btf.Array:
		inner, a, err := e.goType(t.Type, path+"[]")
		if err != nil {
			return "", 0, err
		}
		return fmt.Sprintf("[%d]%s", t.Nelems, inner), a, nil
	case *btf.Typedef: // of an anonymous composite
		n, err := e.emitNamed(t)
		return n, e.aligns[n], err
	case *btf.Struct:
		if t.Name == "" {
			body, a, _, _, err := e.structBody(t.Members, t.Size, path, "")
			return body, a, err
		}
		n, err := e.emitNamed(t)
		return n, e.aligns[n], err
	case *btf.Union:
		// Go has no unions: the bytes, which the user reinterprets.
		return fmt.Sprintf("[%d]byte", t.Size), 1, nil
	default:
		return "", 0, noLayout(t, path)
	}
}

// goField is a field of a struct as written, for the offset checks.
type goField struct {
	name string
	off  int
}

// maxAlign is the largest alignment Go may give a struct of size bytes:
// Go pads a struct to a multiple of its alignment, so a member that needs
// more (in a packed struct) must be bytes.
func maxAlign(size uint32) int {
	a := 8
	for size != 0 && size%uint32(a) != 0 {
		a /= 2
	}
	return a
}

// structBody returns "struct { ... }" with the members at the kernel's
// offsets, its Go alignment, its fields, and for a named struct (named
// is its Go name) the accessor methods of its bitfields.
func (e *goEmitter) structBody(members []btf.Member, size uint32, path, named string) (body string, align int, fields []goField, methods string, err error) {
	slots, tail, err := layoutSlots(members, size, path, false)
	if err != nil {
		return "", 0, nil, "", err
	}
	type line struct {
		name, typ, comment string
		off, size, align   int
	}
	var lines []line
	var acc strings.Builder
	used := map[string]bool{}
	unique := func(n string) string {
		base := n
		for i := 2; used[n]; i++ {
			n = fmt.Sprintf("%s%d", base, i)
		}
		used[n] = true
		return n
	}
	limit := maxAlign(size)
	runs := 0
	for i, s := range joinRuns(slots) {
		var l line
		if s.bits != nil {
			l = line{name: unique(fmt.Sprintf("Bitfields%d", runs)), typ: fmt.Sprintf("[%d]byte", s.size),
				comment: "bitfields " + s.describe(), off: s.off, size: s.size, align: 1}
			runs++
			if named != "" {
				if err := e.bitfieldMethods(&acc, named, l.name, &s, used); err != nil {
					return "", 0, nil, "", err
				}
			}
		} else {
			m := s.member
			typ, a, err := e.goType(m.Type, s.path)
			if err != nil {
				return "", 0, nil, "", err
			}
			name := GoName(m.Name)
			if m.Name == "" {
				name = fmt.Sprintf("Anon%d", i)
			}
			l = line{name: unique(name), typ: typ, off: s.off, size: s.size}
			switch {
			case s.off%a != 0:
				// Go would pad before it: the bytes, read with encoding/binary.
				l.typ, l.comment, a = fmt.Sprintf("[%d]byte", s.size), typ+", misaligned", 1
			case a > limit:
				l.typ, l.comment, a = fmt.Sprintf("[%d]byte", s.size), typ+", in a packed struct", 1
			}
			switch resolve(m.Type).(type) {
			case *btf.Pointer:
				l.comment = "pointer"
			case *btf.Union:
				l.comment = "union"
			}
			l.align = a
		}
		lines = append(lines, l)
	}
	var b strings.Builder
	b.WriteString("struct {\n")
	// Go pads after a zero-size last field (so that its address stays
	// inside the struct): leave such fields out.
	var dropped []string
	for tail == 0 && len(lines) > 0 && lines[len(lines)-1].size == 0 {
		l := lines[len(lines)-1]
		if strings.Contains(l.typ, "\n") {
			dropped = append(dropped, l.name)
		} else {
			dropped = append(dropped, l.name+" "+l.typ)
		}
		lines = lines[:len(lines)-1]
	}
	at := 0
	align = 1
	for _, l := range lines {
		align = max(align, l.align)
		if l.off > at {
			fmt.Fprintf(&b, "\t_ [%d]byte\n", l.off-at)
		}
		comment := ""
		if l.comment != "" {
			comment = " // " + l.comment
		}
		fmt.Fprintf(&b, "\t%s %s%s\n", l.name, l.typ, comment)
		fields = append(fields, goField{l.name, l.off})
		at = l.off + l.size
	}
	if at < int(size) {
		fmt.Fprintf(&b, "\t_ [%d]byte\n", int(size)-at)
	}
	for _, d := range dropped {
		fmt.Fprintf(&b, "\t// %s: zero-size, at the end (the bytes after the struct)\n", d)
	}
	b.WriteString("}")
	return b.String(), align, fields, acc.String(), nil
}

// bitfieldMethods writes a getter and a setter per named bitfield of run
// r, stored in field of struct typ; a name that some field already has
// gets none.
func (e *goEmitter) bitfieldMethods(w *strings.Builder, typ, field string, r *slot, used map[string]bool) error {
	for _, f := range r.bits {
		if f.Name == "" {
			continue
		}
		get, set := GoName(f.Name), "Set"+GoName(f.Name)
		if used[get] || used[set] {
			fmt.Fprintf(w, "// Bitfield %s of %s has no accessors: a field has their name.\n\n", f.Name, typ)
			continue
		}
		used[get], used[set] = true, true
		gt, _, err := e.goType(f.Type, typ+"."+f.Name)
		if err != nil {
			return err
		}
		signed := false
		switch t := resolve(f.Type).(type) {
		case *btf.Int:
			signed = t.Encoding == btf.Signed
		case *btf.Enum:
			signed = t.Signed
		}
		read := "Bitfield"
		if signed {
			read = "SignedBitfield"
		}
		bit := int(f.Offset) - r.off*8
		e.sdk = true
		fmt.Fprintf(w, "// %s is bitfield %s (%d bits).\nfunc (v *%s) %s() %s {\n\treturn %s(wasmbpf.%s(v.%s[:], %d, %d))\n}\n\n",
			get, f.Name, f.BitfieldSize, typ, get, gt, gt, read, field, bit, f.BitfieldSize)
		fmt.Fprintf(w, "// %s sets bitfield %s to the low %d bits of x.\nfunc (v *%s) %s(x %s) {\n\twasmbpf.SetBitfield(v.%s[:], %d, %d, uint64(x))\n}\n\n",
			set, f.Name, f.BitfieldSize, typ, set, gt, field, bit, f.BitfieldSize)
	}
	return nil
}

// emitNamed writes the definition of a named struct, enum, union or
// typedef (and first, those it contains) with its size and offset checks,
// and returns its Go name.
func (e *goEmitter) emitNamed(t btf.Type) (string, error) {
	if n, ok := e.done[t]; ok {
		return n, nil
	}
	if e.working[t] {
		return "", &layoutError{t.TypeName(), "type contains itself"}
	}
	e.working[t] = true
	defer delete(e.working, t)

	name := e.names.typeName(t)
	switch u := t.(type) {
	case *btf.Enum:
		base, err := goSpelling.enumBase(u, u.Name)
		if err != nil {
			return "", err
		}
		e.done[t], e.aligns[name] = name, int(u.Size)
		fmt.Fprintf(&e.b, "// %s is enum %s.\ntype %s %s\n\n", name, u.Name, name, base)
		if len(u.Values) > 0 {
			e.b.WriteString("const (\n")
			for i := range u.Values {
				v := &u.Values[i]
				c := e.names.claim(v, GoName(v.Name), name+GoName(v.Name))
				if u.Signed {
					fmt.Fprintf(&e.b, "\t%s %s = %d\n", c, name, int64(v.Value))
				} else {
					fmt.Fprintf(&e.b, "\t%s %s = %d\n", c, name, v.Value)
				}
			}
			e.b.WriteString(")\n\n")
		}
		return name, nil
	case *btf.Struct:
		cname := "struct " + u.Name
		if sec, ok := e.sections[t]; ok {
			cname = "section " + sec
		}
		return name, e.emitStruct(t, name, cname, u.Members, u.Size)
	case *btf.Union:
		e.done[t], e.aligns[name] = name, 1
		fmt.Fprintf(&e.b, "// %s is union %s: its bytes (Go has no unions).\ntype %s [%d]byte\n\n", name, u.Name, name, u.Size)
		e.sizeCheck(name, int(u.Size))
		return name, nil
	case *btf.Typedef:
		if st, ok := resolve(skipQualifiers(u.Type)).(*btf.Struct); ok && st.Name == "" {
			return name, e.emitStruct(t, name, u.Name, st.Members, st.Size)
		}
		typ, a, err := e.goType(u.Type, u.Name)
		if err != nil {
			return "", err
		}
		size, err := btf.Sizeof(u)
		if err != nil {
			return "", &layoutError{u.Name, fmt.Sprintf("no size: %v", err)}
		}
		e.done[t], e.aligns[name] = name, a
		fmt.Fprintf(&e.b, "// %s is typedef %s.\ntype %s %s\n\n", name, u.Name, name, typ)
		e.sizeCheck(name, size)
		return name, nil
	}
	return "", fmt.Errorf("%v: not a named struct, union, enum or typedef", t)
}

// emitStruct writes struct type name (cname in C) with its size constant,
// decoder, bitfield accessors and checks.
func (e *goEmitter) emitStruct(t btf.Type, name, cname string, members []btf.Member, size uint32) error {
	body, align, fields, methods, err := e.structBody(members, size, cname, name)
	if err != nil {
		return err
	}
	e.done[t], e.aligns[name] = name, align
	fmt.Fprintf(&e.b, "// %s is %s, laid out as the kernel lays it out.\ntype %s %s\n\n", name, cname, name, body)
	e.b.WriteString(methods)
	sizeof, decode := e.names.claim(t, "Sizeof"+name), e.names.claim(t, "Decode"+name)
	fmt.Fprintf(&e.b, "// %s is the size of %s in the kernel.\nconst %s = %d\n\n", sizeof, cname, sizeof, size)
	fmt.Fprintf(&e.b, `// %[1]s copies a record into a value of type %[2]s. A record shorter than
// %[3]s leaves the rest zero; nothing is allocated.
func %[1]s(rec []byte) (v %[2]s) {
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), %[3]s), rec)
	return v
}

`, decode, name, sizeof)
	e.unsafe = true
	fmt.Fprintf(&e.checks, "\t_ = [1]struct{}{}[unsafe.Sizeof(%s{})-%s]\n", name, sizeof)
	for _, f := range fields {
		fmt.Fprintf(&e.checks, "\t_ = [1]struct{}{}[unsafe.Offsetof(%s{}.%s)-%d]\n", name, f.name, f.off)
	}
	return nil
}

func (e *goEmitter) sizeCheck(name string, size int) {
	e.unsafe = true
	fmt.Fprintf(&e.checks, "\t_ = [1]struct{}{}[unsafe.Sizeof(*new(%s))-%d]\n", name, size)
}

// source writes the file: the package, the imports it uses, the types,
// then rest, then the checks.
func (e *goEmitter) source(w io.Writer, from, pkg, rest string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "// Code generated by wasm-bpf gen go from %s; DO NOT EDIT.\n\n", from)
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	// Only what the file uses: an unused import does not compile.
	var imports []string
	if e.unsafe {
		imports = append(imports, `"unsafe"`)
	}
	if e.sdk {
		imports = append(imports, fmt.Sprintf("%q", SDKImport))
	}
	if len(imports) > 0 {
		fmt.Fprintf(&b, "import (\n\t%s\n)\n\n", strings.Join(imports, "\n\n\t"))
	}
	b.WriteString(e.b.String())
	b.WriteString(rest)
	if e.checks.Len() > 0 {
		b.WriteString("// The Go layouts are the kernel's: each index is out of range, and the\n// file does not compile, if a size or offset differs.\nfunc _() {\n")
		b.WriteString(e.checks.String())
		b.WriteString("}\n")
	}
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		return fmt.Errorf("generated Go does not parse (a bug of gen go): %w", err)
	}
	_, err = w.Write(src)
	return err
}

// WriteGo writes a Go file of package pkg for obj: types with the
// kernel's layout for the named types (as WriteHeader takes them) or, when
// none is named, for map keys and values and the types global pointers
// point to, each with SizeofT and DecodeT; a struct per global section
// (Rodata, Data, Bss); a wasmbpf.Var per .rodata and .data variable, to
// set its value before load; OpenM for each map with BTF key and value
// types, returning a wasmbpf.TypedMap; and AttachPrograms, which attaches
// the programs that need no target. source names the object in the
// file's comment.
func WriteGo(w io.Writer, obj *Object, source, pkg string, names []string) error {
	types, err := obj.types(source, names)
	if err != nil {
		return err
	}
	return writeGo(w, obj, source, pkg, types)
}

// writeGo is WriteGo for the given types.
func writeGo(w io.Writer, obj *Object, source, pkg string, types []btf.Type) error {
	e := newGoEmitter()
	for _, t := range types {
		if _, err := e.emitNamed(t); err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
	}
	var vars, rest strings.Builder
	for _, g := range obj.Globals {
		st := globalStruct(g, g.Field)
		e.sections[st] = g.Section
		for _, v := range g.Vars {
			vr, ok := v.Type.(*btf.Var)
			if !ok || g.Offset < 0 {
				continue // .bss has no bytes in the file: set it through its map
			}
			typ, _, err := e.goType(vr.Type, g.Section+"."+vr.Name)
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			vname := e.names.claim(vr, GoName(vr.Name), GoName(vr.Name)+"Var")
			fmt.Fprintf(&vars, "\t// %s is %s %s; Load(obj, %s.Set(x)) sets it.\n", vname, g.Section, vr.Name, vname)
			fmt.Fprintf(&vars, "\t%s = wasmbpf.Var[%s]{Name: %q, Section: %q, Offset: %d, ObjectSize: %d}\n", vname, typ, vr.Name, g.Section, g.Offset+int(v.Offset), len(obj.Raw))
		}
		sname, err := e.emitNamed(st)
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		fn := e.names.claim(g.Section, "Open"+sname, "Open"+sname+"Map")
		// A global section is an array map of one element, key 0.
		fmt.Fprintf(&rest, "// %s returns the map of section %s of obj: key 0 holds the %s variables.\n", fn, g.Section, g.Section)
		fmt.Fprintf(&rest, "func %s(obj *wasmbpf.Object) (*wasmbpf.TypedMap[uint32, %s], error) {\n", fn, sname)
		fmt.Fprintf(&rest, "\tm, err := obj.Map(%q)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\treturn wasmbpf.MapOf[uint32, %s](m), nil\n}\n\n", g.Section, sname)
	}
	if vars.Len() > 0 {
		rest.WriteString("// The object's .rodata and .data variables, at their offsets in its file.\nvar (\n")
		rest.WriteString(vars.String())
		rest.WriteString(")\n\n")
	}
	for _, m := range obj.Maps {
		if !typedMap(m) {
			continue // per-CPU values (the user picks [N]V), ring and perf buffers
		}
		kt, _, err := e.goType(m.Key, "map "+m.Name+" key")
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		vt, _, err := e.goType(m.Value, "map "+m.Name+" value")
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		fn := e.names.claim(m, "Open"+GoName(m.Name), "Open"+GoName(m.Name)+"Map")
		fmt.Fprintf(&rest, "// %s returns map %s of obj, with its BTF key and value types.\n", fn, m.Name)
		fmt.Fprintf(&rest, "func %s(obj *wasmbpf.Object) (*wasmbpf.TypedMap[%s, %s], error) {\n", fn, kt, vt)
		fmt.Fprintf(&rest, "\tm, err := obj.Map(%q)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\treturn wasmbpf.MapOf[%s, %s](m), nil\n}\n\n", m.Name, kt, vt)
	}

	// AttachPrograms: what a skeleton's attach does.
	if progs := obj.autoAttach(); len(progs) > 0 {
		var auto []string
		for _, p := range progs {
			auto = append(auto, fmt.Sprintf("%q", p))
		}
		fn := e.names.claim("AttachPrograms", "AttachPrograms", "AttachAllPrograms")
		fmt.Fprintf(&rest, "// %s attaches every program of obj whose section says where: %s.\n", fn, strings.Join(auto, ", "))
		rest.WriteString("// Socket, XDP, cgroup and sockops programs need a target: use obj.Attach.\n")
		fmt.Fprintf(&rest, "func %s(obj *wasmbpf.Object) error {\n\tfor _, prog := range []string{%s} {\n", fn, strings.Join(auto, ", "))
		rest.WriteString("\t\tif err := obj.Attach(prog, \"\"); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n\treturn nil\n}\n\n")
	}
	if rest.Len() > 0 {
		e.sdk = true
	}
	if err := e.source(w, filepath.Base(source), pkg, rest.String()); err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	return nil
}
