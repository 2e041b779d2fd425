package gen

import (
	"fmt"
	"go/format"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/cilium/ebpf/btf"
)

// SDKImport is the import path of the Go guest SDK the generated code uses.
const SDKImport = "github.com/wasm-bpf/wasm-bpf/sdk/go/wasmbpf"

// goEmitter writes Go definitions of BTF types with the kernel's byte
// layout: fixed-width integers, pointers as uint64, char arrays as byte
// arrays, every gap as a blank padding field, and unions and misaligned
// members as byte arrays (Go has no unions and no packed structs). The
// same layout holds on GOARCH=wasm and on 64-bit hosts; compile-time
// checks on every size and offset make the compiler prove it.
type goEmitter struct {
	b       strings.Builder
	checks  strings.Builder
	done    map[btf.Type]string // named type -> its Go name
	working map[btf.Type]bool
	names   map[string]btf.Type // Go names taken
	// sections names the structs WriteGo makes of global sections.
	sections map[btf.Type]string
}

func newGoEmitter() *goEmitter {
	return &goEmitter{done: map[btf.Type]string{}, working: map[btf.Type]bool{}, names: map[string]btf.Type{}, sections: map[btf.Type]string{}}
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

// goAlign is the alignment, on 64-bit Go ports and wasm alike, of the Go
// type goType writes for t.
func goAlign(t btf.Type) int {
	t = resolve(t)
	if a, ok := scalarAlign(t); ok {
		return a
	}
	switch t := t.(type) {
	case *btf.Array:
		return goAlign(t.Type)
	case *btf.Typedef:
		return goAlign(skipQualifiers(t.Type))
	case *btf.Struct:
		a := 1
		for _, m := range t.Members {
			if int(m.Offset/8)%goAlign(m.Type) != 0 {
				continue // written as a byte array
			}
			if x := goAlign(m.Type); x > a {
				a = x
			}
		}
		return a
	}
	return 1 // unions are byte arrays
}

// goType returns the Go type expression of t, emitting the named types it
// depends on first.
func (e *goEmitter) goType(t btf.Type, path string) (string, error) {
	switch t := resolve(t).(type) {
	case *btf.Int:
		return goSpelling.intType(t, path)
	case *btf.Float:
		return goSpelling.floatType(t, path)
	case *btf.Pointer:
		return "uint64", nil // a kernel address: its bits, not a Go pointer
	case *btf.Enum:
		if t.Name != "" {
			return e.emitNamed(t)
		}
		return goSpelling.enumBase(t, path)
	case *btf.Array:
		inner, err := e.goType(t.Type, path+"[]")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("[%d]%s", t.Nelems, inner), nil
	case *btf.Typedef: // of an anonymous composite
		return e.emitNamed(t)
	case *btf.Struct:
		if t.Name == "" {
			return e.structBody(t.Members, t.Size, path)
		}
		return e.emitNamed(t)
	case *btf.Union:
		// Go has no unions: the bytes, which the user reinterprets.
		return fmt.Sprintf("[%d]byte", t.Size), nil
	default:
		return "", noLayout(t, path)
	}
}

// structBody returns "struct { ... }" with the members at the kernel's
// offsets.
func (e *goEmitter) structBody(members []btf.Member, size uint32, path string) (string, error) {
	slots, tail, err := structSlots(members, size, path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("struct {\n")
	maxAlign := 1
	used := map[string]int{}
	for _, s := range slots {
		m := s.member
		if len(s.bits) > 0 {
			return "", &layoutError{s.path, fmt.Sprintf("bitfield of %d bits at bit %d: use a whole integer", m.BitfieldSize, m.Offset)}
		}
		if s.pad > 0 {
			fmt.Fprintf(&b, "\t_ [%d]byte\n", s.pad)
		}
		name := GoName(m.Name)
		if m.Name == "" {
			name = fmt.Sprintf("Anon%d", s.index)
		}
		if n := used[name]; n > 0 {
			name = fmt.Sprintf("%s%d", name, n)
		}
		used[name]++
		typ, err := e.goType(m.Type, s.path)
		if err != nil {
			return "", err
		}
		comment := ""
		if a := goAlign(m.Type); s.off%a != 0 {
			// Go would pad before it: the bytes, read with encoding/binary.
			comment = " // " + typ + ", misaligned"
			typ = fmt.Sprintf("[%d]byte", s.size)
		} else if a > maxAlign {
			maxAlign = a
		}
		if _, ok := resolve(m.Type).(*btf.Pointer); ok {
			comment = " // pointer"
		}
		if _, ok := resolve(m.Type).(*btf.Union); ok {
			comment = " // union"
		}
		fmt.Fprintf(&b, "\t%s %s%s\n", name, typ, comment)
	}
	if tail > 0 {
		fmt.Fprintf(&b, "\t_ [%d]byte\n", tail)
	}
	if int(size)%maxAlign != 0 {
		return "", &layoutError{path, fmt.Sprintf("size %d is not a multiple of its alignment %d (a packed type): Go would pad it", size, maxAlign)}
	}
	b.WriteString("}")
	return b.String(), nil
}

// claim reserves a Go name for t.
func (e *goEmitter) claim(name string, t btf.Type) (string, error) {
	if other, ok := e.names[name]; ok && other != t {
		return "", fmt.Errorf("types %v and %v both become Go type %s", other, t, name)
	}
	e.names[name] = t
	return name, nil
}

// emitNamed writes the definition of a named struct, enum or typedef (and
// first, those it contains) with its size and offset checks, and returns
// its Go name.
func (e *goEmitter) emitNamed(t btf.Type) (string, error) {
	if n, ok := e.done[t]; ok {
		return n, nil
	}
	if e.working[t] {
		return "", &layoutError{t.TypeName(), "type contains itself"}
	}
	e.working[t] = true
	defer delete(e.working, t)

	name, err := e.claim(GoName(t.TypeName()), t)
	if err != nil {
		return "", err
	}
	switch u := t.(type) {
	case *btf.Enum:
		base, err := goSpelling.enumBase(u, u.Name)
		if err != nil {
			return "", err
		}
		e.done[t] = name
		fmt.Fprintf(&e.b, "// %s is enum %s.\ntype %s %s\n\n", name, u.Name, name, base)
		if len(u.Values) > 0 {
			e.b.WriteString("const (\n")
			for _, v := range u.Values {
				if u.Signed {
					fmt.Fprintf(&e.b, "\t%s %s = %d\n", GoName(v.Name), name, int64(v.Value))
				} else {
					fmt.Fprintf(&e.b, "\t%s %s = %d\n", GoName(v.Name), name, v.Value)
				}
			}
			e.b.WriteString(")\n\n")
		}
		return name, nil
	case *btf.Struct:
		body, err := e.structBody(u.Members, u.Size, "struct "+u.Name)
		if err != nil {
			return "", err
		}
		e.done[t] = name
		cname := "struct " + u.Name
		if sec, ok := e.sections[t]; ok {
			cname = "section " + sec
		}
		fmt.Fprintf(&e.b, "// %s is %s, laid out as the kernel lays it out.\ntype %s %s\n\n", name, cname, name, body)
		e.decoder(name, cname, int(u.Size))
		e.offsetChecks(name, u.Members, "")
		return name, nil
	case *btf.Union:
		e.done[t] = name
		fmt.Fprintf(&e.b, "// %s is union %s: its bytes (Go has no unions).\ntype %s [%d]byte\n\n", name, u.Name, name, u.Size)
		return name, nil
	case *btf.Typedef:
		typ, err := e.goType(u.Type, u.Name)
		if err != nil {
			return "", err
		}
		size, err := btf.Sizeof(u)
		if err != nil {
			return "", &layoutError{u.Name, fmt.Sprintf("no size: %v", err)}
		}
		e.done[t] = name
		fmt.Fprintf(&e.b, "// %s is typedef %s.\ntype %s %s\n\n", name, u.Name, name, typ)
		if st, ok := resolve(skipQualifiers(u.Type)).(*btf.Struct); ok && st.Name == "" {
			e.decoder(name, u.Name, size)
			e.offsetChecks(name, st.Members, "")
		} else {
			fmt.Fprintf(&e.checks, "\t_ = [1]struct{}{}[unsafe.Sizeof(*new(%s))-%d]\n", name, size)
		}
		return name, nil
	}
	return "", fmt.Errorf("%v: not a named struct, union, enum or typedef", t)
}

// decoder writes the size constant, the size check and DecodeT of a
// struct type.
func (e *goEmitter) decoder(name, cname string, size int) {
	fmt.Fprintf(&e.b, "// Sizeof%s is the size of %s in the kernel.\nconst Sizeof%s = %d\n\n", name, cname, name, size)
	fmt.Fprintf(&e.b, `// Decode%[1]s copies a record into a value of type %[1]s. A record shorter than
// Sizeof%[1]s leaves the rest zero; nothing is allocated.
func Decode%[1]s(rec []byte) (v %[1]s) {
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), Sizeof%[1]s), rec)
	return v
}

`, name)
	fmt.Fprintf(&e.checks, "\t_ = [1]struct{}{}[unsafe.Sizeof(%s{})-Sizeof%s]\n", name, name)
}

// offsetChecks writes a compile-time check of each named member's offset.
func (e *goEmitter) offsetChecks(name string, members []btf.Member, _ string) {
	used := map[string]int{}
	ms := append([]btf.Member(nil), members...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Offset < ms[j].Offset })
	for i, m := range ms {
		f := GoName(m.Name)
		if m.Name == "" {
			f = fmt.Sprintf("Anon%d", i)
		}
		if n := used[f]; n > 0 {
			f = fmt.Sprintf("%s%d", f, n)
		}
		used[f]++
		fmt.Fprintf(&e.checks, "\t_ = [1]struct{}{}[unsafe.Offsetof(%s{}.%s)-%d]\n", name, f, m.Offset/8)
	}
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
	types, err := obj.selectTypes(names)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	e := newGoEmitter()
	for _, t := range types {
		if _, err := e.emitNamed(t); err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
	}
	var vars, globals strings.Builder
	for _, g := range obj.Globals {
		st := globalStruct(g, g.Field)
		e.sections[st] = g.Section
		for _, v := range g.Vars {
			vr, ok := v.Type.(*btf.Var)
			if !ok {
				continue
			}
			if g.Offset < 0 {
				continue // .bss has no bytes in the file: set it through its map
			}
			typ, err := e.goType(vr.Type, g.Section+"."+vr.Name)
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			vname, err := e.claim(GoName(vr.Name), vr)
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			fmt.Fprintf(&vars, "\t// %s is %s %s; Load(obj, %s.Set(x)) sets it.\n", vname, g.Section, vr.Name, vname)
			fmt.Fprintf(&vars, "\t%s = wasmbpf.Var[%s]{Name: %q, Section: %q, Offset: %d, ObjectSize: %d}\n", vname, typ, vr.Name, g.Section, g.Offset+int(v.Offset), len(obj.Raw))
		}
		sname, err := e.emitNamed(st)
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		fn, err := e.claim("Open"+sname, st)
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		// A global section is an array map of one element, key 0.
		fmt.Fprintf(&globals, "// %s returns the map of section %s of obj: key 0 holds the %s variables.\n", fn, g.Section, g.Section)
		fmt.Fprintf(&globals, "func %s(obj *wasmbpf.Object) (*wasmbpf.TypedMap[uint32, %s], error) {\n", fn, sname)
		fmt.Fprintf(&globals, "\tm, err := obj.Map(%q)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\treturn wasmbpf.MapOf[uint32, %s](m), nil\n}\n\n", g.Section, sname)
	}
	var maps strings.Builder
	maps.WriteString(globals.String())
	for _, m := range obj.Maps {
		if !typedMap(m) {
			continue
		}
		kt, err := e.goType(m.Key, "map "+m.Name+" key")
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		vt, err := e.goType(m.Value, "map "+m.Name+" value")
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		fn, err := e.claim("Open"+GoName(m.Name), m.Key)
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		fmt.Fprintf(&maps, "// %s returns map %s of obj, with its BTF key and value types.\n", fn, m.Name)
		fmt.Fprintf(&maps, "func %s(obj *wasmbpf.Object) (*wasmbpf.TypedMap[%s, %s], error) {\n", fn, kt, vt)
		fmt.Fprintf(&maps, "\tm, err := obj.Map(%q)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\treturn wasmbpf.MapOf[%s, %s](m), nil\n}\n\n", m.Name, kt, vt)
	}

	// AttachPrograms: what a skeleton's attach does.
	if auto := obj.autoAttach(); len(auto) > 0 {
		fn, err := e.claim("AttachPrograms", &btf.Void{})
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		fmt.Fprintf(&maps, "// %s attaches every program of obj whose section says where: %s.\n", fn, strings.Join(auto, ", "))
		b := "// Socket, XDP, cgroup and sockops programs need a target: use obj.Attach.\n"
		maps.WriteString(b)
		fmt.Fprintf(&maps, "func %s(obj *wasmbpf.Object) error {\n\tfor _, prog := range []string{", fn)
		for i, n := range auto {
			if i > 0 {
				maps.WriteString(", ")
			}
			fmt.Fprintf(&maps, "%q", n)
		}
		maps.WriteString("} {\n\t\tif err := obj.Attach(prog, \"\"); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n\treturn nil\n}\n\n")
	}

	var b strings.Builder
	fmt.Fprintf(&b, "// Code generated by wasm-bpf gen go from %s; DO NOT EDIT.\n\n", filepath.Base(source))
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	useSDK := vars.Len() > 0 || maps.Len() > 0
	b.WriteString("import (\n\t\"unsafe\"\n")
	if useSDK {
		fmt.Fprintf(&b, "\n\t%q\n", SDKImport)
	}
	b.WriteString(")\n\n")
	b.WriteString(e.b.String())
	if vars.Len() > 0 {
		b.WriteString("// The object's .rodata and .data variables, at their offsets in its file.\nvar (\n")
		b.WriteString(vars.String())
		b.WriteString(")\n\n")
	}
	b.WriteString(maps.String())
	b.WriteString("// The Go layouts are the kernel's: each index is out of range, and the\n// file does not compile, if a size or offset differs.\nfunc _() {\n")
	b.WriteString(e.checks.String())
	b.WriteString("}\n")
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		return fmt.Errorf("%s: generated Go does not parse (a bug of gen go): %w", source, err)
	}
	_, err = w.Write(src)
	return err
}
