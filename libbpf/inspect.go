package libbpf

// #include <bpf/libbpf.h>
import "C"

// What libbpf made of an opened object, for comparing with another
// reading of the same bytes (package policy's) before anything loads.

// ExpectedAttachType is the program's expected attach type (enum
// bpf_attach_type) as its section gives it.
func (p *Program) ExpectedAttachType() uint32 {
	return uint32(C.bpf_program__expected_attach_type(p.prog))
}

// InsnCount is the number of the program's instructions: as opened, its
// own; once loaded, with the subprograms libbpf appended.
func (p *Program) InsnCount() int { return int(C.bpf_program__insn_cnt(p.prog)) }

// MaxEntries is the map's max_entries.
func (m *Map) MaxEntries() uint32 { return uint32(C.bpf_map__max_entries(m.m)) }

// RawValueSize is the map's value_size as the kernel takes it.
func (m *Map) RawValueSize() uint32 { return uint32(C.bpf_map__value_size(m.m)) }

// Inner is the inner map of a map of maps, the template libbpf creates
// before the outer map, or nil.
func (m *Map) Inner() *Map {
	if in := C.bpf_map__inner_map(m.m); in != nil {
		return &Map{m: in}
	}
	return nil
}
