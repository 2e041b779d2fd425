package gen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// slot is what a struct or union holds at one place, as the generators
// lay it out: a whole member at a byte offset, or a run of bitfields,
// which takes the bytes from the first one's to the last one's end.
// Neither C's offsetof nor Go nor Rust can place a bitfield exactly, so
// a run becomes a byte array, and each bitfield is read and written by
// its bit offset.
type slot struct {
	member btf.Member   // the member; the first bitfield of a run
	bits   []btf.Member // the bitfields of a run; nil for a whole member
	path   string       // the member's path from the type, for errors
	index  int          // the member's index among the sorted members
	off    int          // in bytes, from the start of the type
	size   int
	pad    int // bytes of padding before it (in a struct)
}

// describe lists the run's bitfields with their bits, counted from the
// run's first byte: "a: bits 0-2, b: bits 3-7".
func (s *slot) describe() string {
	var parts []string
	for _, f := range s.bits {
		start := int(f.Offset) - s.off*8
		name := f.Name
		if name == "" {
			name = "(padding)"
		}
		parts = append(parts, fmt.Sprintf("%s: bits %d-%d", name, start, start+int(f.BitfieldSize)-1))
	}
	return strings.Join(parts, ", ")
}

// layoutSlots sorts the members of a struct (or, when union, of a union)
// by offset and returns where each goes, and the bytes after the last
// one up to size. A run holds the bitfields that share bytes; joinRuns
// makes one of consecutive runs. In a struct, members that overlap are
// errors, and pad is the gap before each; in a union every member starts
// at its own offset, and the tail is after the longest. Members past
// size are errors in both.
func layoutSlots(members []btf.Member, size uint32, path string, union bool) (slots []slot, tail int, err error) {
	ms := append([]btf.Member(nil), members...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Offset < ms[j].Offset })
	cur := 0 // the end of the members so far
	for i, m := range ms {
		mpath := memberPath(path, m)
		if m.BitfieldSize != 0 {
			first, end := int(m.Offset/8), int((m.Offset+m.BitfieldSize+7)/8)
			if n := len(slots); n > 0 && slots[n-1].bits != nil && first < cur {
				// Shares bytes with the run before it.
				s := &slots[n-1]
				s.bits = append(s.bits, m)
				s.size = max(s.size, end-s.off)
				cur = max(cur, end)
				continue
			}
			s := slot{member: m, bits: []btf.Member{m}, path: mpath, index: i, off: first, size: end - first}
			if !union {
				if first < cur {
					return nil, 0, &layoutError{mpath, fmt.Sprintf("bitfield at bit %d overlaps the previous member (byte %d < %d)", m.Offset, first, cur)}
				}
				s.pad = first - cur
			}
			slots = append(slots, s)
			cur = max(cur, end)
			continue
		}
		if m.Offset%8 != 0 {
			return nil, 0, &layoutError{mpath, fmt.Sprintf("member at bit offset %d is not byte-aligned", m.Offset)}
		}
		off := int(m.Offset / 8)
		msize, err := btf.Sizeof(m.Type)
		if err != nil {
			switch t := resolve(m.Type).(type) {
			case *btf.Fwd, *btf.Func, *btf.FuncProto, *btf.Void:
				return nil, 0, noLayout(t, mpath)
			}
			return nil, 0, &layoutError{mpath, fmt.Sprintf("no size: %v", err)}
		}
		s := slot{member: m, path: mpath, index: i, off: off, size: msize}
		if !union {
			if off < cur {
				return nil, 0, &layoutError{mpath, fmt.Sprintf("overlaps the previous member (offset %d < %d)", off, cur)}
			}
			s.pad = off - cur
		}
		slots = append(slots, s)
		cur = max(cur, off+msize)
	}
	if cur > int(size) {
		return nil, 0, &layoutError{path, fmt.Sprintf("members end at byte %d, beyond the type's size %d", cur, size)}
	}
	return slots, int(size) - cur, nil
}

// joinRuns makes one run of each sequence of runs with no whole member
// between them, the gaps between them included: C and Go write such a
// sequence as one byte array, Rust one per run.
func joinRuns(slots []slot) []slot {
	var out []slot
	for _, s := range slots {
		if n := len(out); n > 0 && s.bits != nil && out[n-1].bits != nil {
			r := &out[n-1]
			r.bits = append(r.bits[:len(r.bits):len(r.bits)], s.bits...)
			r.size = max(r.size, s.off+s.size-r.off)
			continue
		}
		out = append(out, s)
	}
	return out
}

// alignOf is the wasm32 alignment of t as the generators write it: that
// of its scalars, 1 for a packed struct. A union is a C union, aligned as
// its members, or where bytesUnion (Rust) its bytes.
func alignOf(t btf.Type, bytesUnion bool) int {
	t = resolve(t)
	if a, ok := scalarAlign(t); ok {
		return a
	}
	switch t := t.(type) {
	case *btf.Array:
		return alignOf(t.Type, bytesUnion)
	case *btf.Typedef:
		return alignOf(skipQualifiers(t.Type), bytesUnion)
	case *btf.Struct:
		a, _ := packing(t.Members, t.Size, bytesUnion)
		return a
	case *btf.Union:
		if !bytesUnion {
			a, _ := packing(t.Members, t.Size, bytesUnion)
			return a
		}
	}
	return 1
}

// packing is the alignment a struct or union of the members gets, that
// of its widest member (bitfields are bytes), and whether the kernel's
// layout needs it packed instead (alignment 1): a member at an offset
// the compiler would not put it, or a size that is not a multiple of the
// alignment.
func packing(ms []btf.Member, size uint32, bytesUnion bool) (align int, packed bool) {
	a := 1
	for _, m := range ms {
		if m.BitfieldSize == 0 {
			a = max(a, alignOf(m.Type, bytesUnion))
		}
	}
	if int(size)%a != 0 {
		return 1, true
	}
	for _, m := range ms {
		if m.BitfieldSize == 0 && int(m.Offset/8)%alignOf(m.Type, bytesUnion) != 0 {
			return 1, true
		}
	}
	return a, false
}

// globalStruct is a global data section as a struct: one member per
// variable, at its offset in the section.
func globalStruct(g Global, name string) *btf.Struct {
	st := &btf.Struct{Name: name, Size: uint32(g.Size)}
	for _, v := range g.Vars {
		if vr, ok := v.Type.(*btf.Var); ok {
			st.Members = append(st.Members, btf.Member{Name: vr.Name, Type: vr.Type, Offset: btf.Bits(v.Offset * 8)})
		}
	}
	return st
}

// typedMap reports whether m gets a typed accessor: a map with BTF key
// and value types whose values are not per-CPU (those hold one value per
// possible CPU, a count the guest cannot learn) and that is not a ring or
// perf buffer.
func typedMap(m Map) bool {
	if m.Key == nil || m.Value == nil {
		return false
	}
	switch m.Type {
	case ebpf.RingBuf, ebpf.PerfEventArray, ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUCPUHash, ebpf.PerCPUCGroupStorage:
		return false
	}
	return true
}

// autoAttach lists the programs whose section says where to attach them,
// which a skeleton's attach (and gen go and gen rust's AttachPrograms)
// attaches.
func (o *Object) autoAttach() []string {
	var auto []string
	for _, p := range o.Programs {
		if !needsTarget(p.Section) {
			auto = append(auto, p.Name)
		}
	}
	return auto
}
