package gen

import (
	"bytes"
	"debug/elf"
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// Object is what the generators need to know about a BPF ELF object.
type Object struct {
	Raw      []byte // the file as given, embedded in skeletons
	Maps     []Map  // sorted by name
	Programs []Program
	// Globals holds .rodata, .data and .bss, in that order, for those
	// the object has.
	Globals []Global
	spec    *ebpf.CollectionSpec
}

// Map is a map of the object.
type Map struct {
	Name  string // as in the source (libbpf's name for the kernel lookup)
	Type  ebpf.MapType
	Key   btf.Type // nil when the map has no BTF key type
	Value btf.Type
}

// Program is a BPF program of the object.
type Program struct {
	Name    string // the function name
	Section string // the ELF section, e.g. "tp/sched/sched_process_exec"
}

// Global is one of the data sections libbpf turns into an array map.
type Global struct {
	Section string // ".rodata", ".data" or ".bss"
	Field   string // the skeleton's name for it: rodata, data, bss
	Size    int
	// Offset of the section's bytes in the ELF file; -1 for .bss, which
	// has none (it is SHT_NOBITS).
	Offset int
	Vars   []btf.VarSecinfo
}

// globalSections are the data sections a skeleton exposes, as libbpf's
// bpftool gen skeleton does (sub-sections such as .data.foo are not).
var globalSections = []string{".rodata", ".data", ".bss"}

// LoadObject parses a BPF ELF object (as clang -target bpf -g writes it).
func LoadObject(raw []byte) (*Object, error) {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse BPF object: %w", err)
	}
	ef, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse BPF object: %w", err)
	}
	defer ef.Close()
	if ef.Class != elf.ELFCLASS64 || ef.Data != elf.ELFDATA2LSB {
		return nil, fmt.Errorf("BPF object is not a little-endian ELF64 file (wasm32 guests and this skeleton are little-endian)")
	}

	o := &Object{Raw: raw, spec: spec}
	for name, p := range spec.Programs {
		o.Programs = append(o.Programs, Program{Name: name, Section: p.SectionName})
	}
	sort.Slice(o.Programs, func(i, j int) bool { return o.Programs[i].Name < o.Programs[j].Name })

	for name, m := range spec.Maps {
		if strings.HasPrefix(name, ".") {
			continue // data sections, .kconfig, .rodata.str1.1: not user maps
		}
		o.Maps = append(o.Maps, Map{Name: name, Type: m.Type, Key: m.Key, Value: m.Value})
	}
	sort.Slice(o.Maps, func(i, j int) bool { return o.Maps[i].Name < o.Maps[j].Name })

	for _, sec := range globalSections {
		m, ok := spec.Maps[sec]
		if !ok {
			continue
		}
		ds, ok := m.Value.(*btf.Datasec)
		if !ok {
			return nil, fmt.Errorf("section %s: no BTF data section (compile with -g)", sec)
		}
		g := Global{Section: sec, Field: sec[1:], Size: int(ds.Size), Offset: -1, Vars: ds.Vars}
		s := ef.Section(sec)
		if s == nil {
			return nil, fmt.Errorf("section %s: described in BTF but not in the ELF file", sec)
		}
		if s.Type != elf.SHT_NOBITS {
			if s.Size != uint64(ds.Size) || s.Offset+s.Size > uint64(len(raw)) {
				return nil, fmt.Errorf("section %s: ELF size %d at offset %d does not match its BTF size %d", sec, s.Size, s.Offset, ds.Size)
			}
			g.Offset = int(s.Offset)
		}
		o.Globals = append(o.Globals, g)
	}
	return o, nil
}

// findType finds a named struct, union, enum or typedef in the object's BTF.
func (o *Object) findType(name string) (btf.Type, error) {
	if o.spec.Types == nil {
		return nil, fmt.Errorf("type %s: the object has no BTF (compile with -g)", name)
	}
	kind, bare := "", name
	for _, k := range []string{"struct ", "union ", "enum "} {
		if strings.HasPrefix(name, k) {
			kind, bare = strings.TrimSpace(k), strings.TrimSpace(strings.TrimPrefix(name, k))
		}
	}
	types, err := o.spec.Types.AnyTypesByName(bare)
	if err != nil {
		return nil, fmt.Errorf("type %s: not in the object's BTF (a type only used by local variables is not emitted; reference it from a map or a global)", name)
	}
	var found []btf.Type
	for _, t := range types {
		switch t.(type) {
		case *btf.Struct:
			if kind == "" || kind == "struct" {
				found = append(found, t)
			}
		case *btf.Union:
			if kind == "" || kind == "union" {
				found = append(found, t)
			}
		case *btf.Enum:
			if kind == "" || kind == "enum" {
				found = append(found, t)
			}
		case *btf.Typedef:
			if kind == "" {
				found = append(found, t)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("type %s: no struct, union, enum or typedef of that name in the object's BTF", name)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("type %s: ambiguous (%d types of that name); prefix it with struct, union or enum", name, len(found))
}

// selectTypes finds the named types (see findType) or, when none is named,
// returns defaultTypes.
func (o *Object) selectTypes(names []string) ([]btf.Type, error) {
	if len(names) == 0 {
		return o.defaultTypes(), nil
	}
	var types []btf.Type
	for _, n := range names {
		t, err := o.findType(n)
		if err != nil {
			return nil, err
		}
		types = append(types, t)
	}
	return types, nil
}

// defaultTypes are the named composite types of map keys and values and
// those global variables point to (the idiom
// `const struct event *unused_event __attribute__((unused));` puts a ring
// buffer's record type into the BTF, which a local variable does not).
func (o *Object) defaultTypes() []btf.Type {
	var out []btf.Type
	seen := map[btf.Type]bool{}
	add := func(t btf.Type) {
		t = skipQualifiers(t)
		for {
			td, ok := t.(*btf.Typedef)
			if !ok {
				break
			}
			if _, anon := resolve(td).(*btf.Typedef); anon {
				break
			}
			t = skipQualifiers(td.Type)
		}
		switch u := t.(type) {
		case *btf.Struct, *btf.Union, *btf.Enum, *btf.Typedef:
			if u.TypeName() != "" && !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	for _, m := range o.Maps {
		if m.Key != nil {
			add(m.Key)
		}
		if m.Value != nil {
			add(m.Value)
		}
	}
	for _, g := range o.Globals {
		for _, v := range g.Vars {
			vr, ok := v.Type.(*btf.Var)
			if !ok {
				continue
			}
			if p, ok := skipQualifiers(vr.Type).(*btf.Pointer); ok {
				add(p.Target)
			}
		}
	}
	return out
}
