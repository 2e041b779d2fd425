package gen

import (
	"fmt"
	"sort"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// slot is what a struct holds at one place, as the Go and Rust generators
// lay it out: a member, or a run of bitfields sharing bytes, at a byte
// offset, after pad bytes of padding.
type slot struct {
	member btf.Member   // the member; the first bitfield of a run
	bits   []btf.Member // the bitfields of a run stored in [off, off+size)
	path   string       // the member's path from the struct, for errors
	index  int          // the member's index among the sorted members
	off    int
	size   int
	pad    int
}

// structSlots sorts a struct's members by offset and returns where each
// goes, the padding before each, and the padding after the last (tail).
// Members that overlap, or sit past the struct's size, are errors: only a
// union may do that.
func structSlots(members []btf.Member, size uint32, path string) (slots []slot, tail int, err error) {
	ms := append([]btf.Member(nil), members...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Offset < ms[j].Offset })
	cur := 0
	for i, m := range ms {
		mpath := memberPath(path, m)
		if m.BitfieldSize != 0 {
			first, end := int(m.Offset/8), int((m.Offset+m.BitfieldSize+7)/8)
			if n := len(slots); n > 0 && len(slots[n-1].bits) > 0 && first < cur {
				// Shares bytes with the run before it.
				s := &slots[n-1]
				s.bits = append(s.bits, m)
				if end > cur {
					s.size, cur = end-s.off, end
				}
				continue
			}
			if first < cur {
				return nil, 0, &layoutError{mpath, fmt.Sprintf("bitfield at bit %d overlaps the previous member (byte %d < %d)", m.Offset, first, cur)}
			}
			slots = append(slots, slot{member: m, bits: []btf.Member{m}, path: mpath, index: i, off: first, size: end - first, pad: first - cur})
			cur = end
			continue
		}
		if m.Offset%8 != 0 {
			return nil, 0, &layoutError{mpath, fmt.Sprintf("member at bit offset %d is not byte-aligned", m.Offset)}
		}
		off := int(m.Offset / 8)
		msize, err := btf.Sizeof(m.Type)
		if fwd, ok := resolve(m.Type).(*btf.Fwd); ok {
			return nil, 0, noLayout(fwd, mpath)
		}
		if err != nil {
			return nil, 0, &layoutError{mpath, fmt.Sprintf("no size: %v", err)}
		}
		if off < cur {
			return nil, 0, &layoutError{mpath, fmt.Sprintf("overlaps the previous member (offset %d < %d)", off, cur)}
		}
		slots = append(slots, slot{member: m, path: mpath, index: i, off: off, size: msize, pad: off - cur})
		cur = off + msize
	}
	if cur > int(size) {
		return nil, 0, &layoutError{path, fmt.Sprintf("members end at byte %d, beyond the type's size %d", cur, size)}
	}
	return slots, int(size) - cur, nil
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
