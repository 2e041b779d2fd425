package gen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// A struct's members as both generators lay them out: each is a whole
// member at a byte offset, or a run of consecutive bitfields, which takes
// the bytes from the first one's to the last one's end. Neither C's
// offsetof nor Go can place a bitfield exactly, so a run becomes a byte
// array, and each bitfield is read and written by its bit offset.
type member struct {
	m    btf.Member
	bits *bitRun // nil: a whole member
}

type bitRun struct {
	off, size int // in bytes, from the start of the struct
	fields    []btf.Member
}

// describe lists the run's bitfields with their bits, counted from the
// run's first byte: "a: bits 0-2, b: bits 3-7".
func (r *bitRun) describe() string {
	var parts []string
	for _, f := range r.fields {
		start := int(f.Offset) - r.off*8
		name := f.Name
		if name == "" {
			name = "(padding)"
		}
		parts = append(parts, fmt.Sprintf("%s: bits %d-%d", name, start, start+int(f.BitfieldSize)-1))
	}
	return strings.Join(parts, ", ")
}

// layoutMembers sorts members by offset and gathers consecutive bitfields
// into runs.
func layoutMembers(members []btf.Member, path string) ([]member, error) {
	ms := append([]btf.Member(nil), members...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Offset < ms[j].Offset })
	var out []member
	for _, m := range ms {
		if m.BitfieldSize == 0 {
			if m.Offset%8 != 0 {
				return nil, &layoutError{path + "." + m.Name, fmt.Sprintf("member at bit offset %d is not byte-aligned", m.Offset)}
			}
			out = append(out, member{m: m})
			continue
		}
		end := (int(m.Offset) + int(m.BitfieldSize) + 7) / 8
		if n := len(out); n > 0 && out[n-1].bits != nil {
			r := out[n-1].bits
			r.fields = append(r.fields, m)
			if end > r.off+r.size {
				r.size = end - r.off
			}
			continue
		}
		off := int(m.Offset) / 8
		out = append(out, member{m: m, bits: &bitRun{off: off, size: end - off, fields: []btf.Member{m}}})
	}
	return out, nil
}
