package policy

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/wasm-bpf/wasm-bpf/internal/objcheck"
)

// Object is what one BPF ELF object asks of the kernel.
type Object struct {
	Programs []Program // in section, then name, order
	Maps     []Map     // in name order

	// Helpers is every helper any instruction of the object's code calls,
	// reached by a program or not, and Kfuncs every kfunc the object
	// declares: supersets of what its programs call. They bound what a
	// loader that links the code differently from this analysis could make
	// of it (see Analyze).
	Helpers []Helper
	Kfuncs  []string
}

// Program is one program of an object: an entry point and every
// subprogram and callback it reaches.
type Program struct {
	Name       string
	Section    string // as in the ELF, without libbpf's leading "?"
	Type       ebpf.ProgramType
	AttachType ebpf.AttachType
	// Kind names the program type, split by attach type where that
	// changes what the program can do: "tracepoint", "kprobe", "fentry",
	// "fmod_ret", "lsm", "xdp", ... (see Kinds).
	Kind string
	// Target is the attach point the section names, canonical: the
	// section's prefix without aliases or the sleepable ".s", and a
	// uprobe's binary path cleaned ("tracepoint/sched/sched_process_exec",
	// "uprobe//usr/bin/bash:readline"). Empty for programs whose target is
	// given at attach time (XDP, socket filters, cgroup programs).
	Target       string
	Sleepable    bool
	Instructions int // 8-byte instruction slots, subprograms included
	Helpers      []Helper
	Kfuncs       []string
}

// TypeName is the kernel's name of the program's type ("tracepoint",
// "tracing", ...).
func (p Program) TypeName() string { return progTypeName(p.Type) }

// Helper is a BPF helper function, by the kernel's id.
type Helper struct {
	ID   int32
	Name string // "bpf_send_signal"; "" for an id this package does not know
}

func (h Helper) String() string {
	if h.Name == "" {
		return fmt.Sprintf("helper %d", h.ID)
	}
	return fmt.Sprintf("%s (helper %d)", h.Name, h.ID)
}

// Map is one map an object creates.
type Map struct {
	Name       string
	Type       ebpf.MapType
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	// Memory is an upper estimate of the kernel memory the map takes once
	// created and full (see docs/policy.md), with its inner map's.
	Memory Bytes
	// Inner is the inner map of a map of maps: libbpf creates it at load
	// as the template of the maps the outer map may hold, and destroys it
	// once the outer map exists.
	Inner *Map
}

// TypeName is the kernel's name of the map's type ("hash", "ringbuf", ...).
func (m Map) TypeName() string { return mapTypeName(m.Type) }

// MapMemory is the estimated kernel memory of all the object's maps.
func (o *Object) MapMemory() Bytes {
	var sum uint64
	for _, m := range o.Maps {
		sum = addSat(sum, uint64(m.Memory))
	}
	return Bytes(sum)
}

// Program returns the program called name.
func (o *Object) Program(name string) (*Program, bool) {
	for i := range o.Programs {
		if o.Programs[i].Name == name {
			return &o.Programs[i], true
		}
	}
	return nil, false
}

// Analyze reads a BPF ELF object. It fails on anything
// github.com/cilium/ebpf cannot read: an object this package cannot see
// into is refused rather than guessed at. It fails with a *HostRefError
// on code that names a kernel object by number.
//
// Per program, the helpers and kfuncs are those of its instructions and of
// every function they reach by a call or a function pointer (bpf_loop's
// callback and its kind), as cilium/ebpf links them. Independently of any
// linking, every 8-byte slot of every executable section that encodes a
// helper call counts in Object.Helpers, and every kfunc the object's BTF
// declares in Object.Kfuncs: a loader that resolved calls differently
// could only reach code in those sections, and a kfunc only through a BTF
// declaration, so checking these sets too leaves no way around the check.
func Analyze(obj []byte) (o *Object, err error) {
	// First what libbpf will be given too: a hostile object can otherwise
	// take cilium/ebpf's BTF decoder deeper than Go's stack (a fatal error,
	// which recover does not catch).
	spec, err := objcheck.Spec(obj)
	if err != nil {
		return nil, err
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("possible CPUs: %w", err)
	}
	// cilium/ebpf guards its own ELF parsing; this guards the rest against
	// an input nobody foresaw (FuzzAnalyze looks for such inputs without
	// it). A hostile object must cost an error, not the host.
	defer func() {
		if r := recover(); r != nil {
			o, err = nil, fmt.Errorf("analysis failed: %v", r)
		}
	}()
	return analyze(obj, spec, ncpu)
}

func analyze(obj []byte, spec *ebpf.CollectionSpec, ncpu int) (*Object, error) {
	o := &Object{}
	for _, p := range spec.Programs {
		o.Programs = append(o.Programs, program(p))
	}
	slices.SortFunc(o.Programs, func(a, b Program) int {
		if c := strings.Compare(a.Section, b.Section); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, m := range spec.Maps {
		o.Maps = append(o.Maps, newMap(m, ncpu))
	}
	slices.SortFunc(o.Maps, func(a, b Map) int { return strings.Compare(a.Name, b.Name) })

	var err error
	if o.Helpers, err = scanCode(obj); err != nil {
		return nil, err
	}
	kfuncs := map[string]bool{}
	if spec.Types != nil {
		for t, err := range spec.Types.All() {
			if err != nil {
				return nil, fmt.Errorf("BTF: %w", err)
			}
			if f, ok := t.(*btf.Func); ok && f.Linkage == btf.ExternFunc {
				kfuncs[kfuncName(f.Name)] = true
			}
		}
	}
	for _, p := range o.Programs {
		for _, k := range p.Kfuncs {
			kfuncs[k] = true
		}
	}
	o.Kfuncs = sortedKeys(kfuncs)
	return o, nil
}

func newMap(m *ebpf.MapSpec, ncpu int) Map {
	if m.Type == ebpf.RingBuf || m.Type == ebpf.UserRingbuf {
		// libbpf rounds the size up as it opens the object; the kernel
		// allocates the rounded size.
		m = m.Copy()
		m.MaxEntries = ringbufSize(m.MaxEntries)
	}
	am := Map{
		Name: m.Name, Type: m.Type, KeySize: m.KeySize, ValueSize: m.ValueSize,
		MaxEntries: m.MaxEntries, Flags: m.Flags, Memory: Bytes(mapMemory(m, ncpu)),
	}
	if m.InnerMap != nil {
		// The template is a real map, created before the outer one: an
		// outer map of one entry could otherwise bring a map of any size
		// into the kernel, uncounted.
		inner := newMap(m.InnerMap, ncpu)
		am.Inner = &inner
		am.Memory = Bytes(addSat(uint64(am.Memory), uint64(inner.Memory)))
	}
	return am
}

// ringbufSize is the size libbpf gives a ring buffer of sz bytes: the
// kernel takes a power-of-2 multiple of the page size, so libbpf takes the
// smallest such size above sz, or sz if there is none
// (adjust_ringbuf_sz).
func ringbufSize(sz uint32) uint32 {
	if sz == 0 || sz%pageSize == 0 && bits.OnesCount32(sz/pageSize) == 1 {
		return sz
	}
	for mul := uint64(1); mul*pageSize <= math.MaxUint32; mul <<= 1 {
		if mul*pageSize > uint64(sz) {
			return uint32(mul * pageSize)
		}
	}
	return sz
}

func program(p *ebpf.ProgramSpec) Program {
	prog := Program{
		Name:       p.Name,
		Section:    strings.TrimPrefix(p.SectionName, "?"),
		Type:       p.Type,
		AttachType: p.AttachType,
		Kind:       kind(p.Type, p.AttachType),
		Sleepable:  p.Flags&bpfFSleepable != 0,
	}
	prog.Target = target(prog.Section, prog.Kind)
	helpers := map[int32]bool{}
	kfuncs := map[string]bool{}
	for _, ins := range p.Instructions {
		prog.Instructions += int(ins.Size() / asm.InstructionSize)
		switch {
		case ins.OpCode.JumpOp() != asm.Call:
		case ins.Src == asm.PseudoKfuncCall || ins.Src == asm.PseudoCall && isExtern(ins):
			kfuncs[kfuncName(ins.Reference())] = true
		case ins.Src == asm.R0:
			helpers[int32(ins.Constant)] = true
		}
	}
	for _, id := range sortedKeys(helpers) {
		prog.Helpers = append(prog.Helpers, helper(id))
	}
	prog.Kfuncs = sortedKeys(kfuncs)
	return prog
}

// isExtern tells a call of an extern function (a kfunc, as clang emits it
// before libbpf marks it BPF_PSEUDO_KFUNC_CALL) from a BPF-to-BPF call:
// cilium/ebpf resolves the latter to a -1 constant with the callee's name,
// and marks the former as a kfunc call itself.
func isExtern(ins asm.Instruction) bool {
	return ins.Reference() != "" && ins.Constant != -1
}

// kfuncName is the kernel function an extern of this name calls: libbpf
// drops a flavour suffix (bpf_task_acquire___v2 is bpf_task_acquire), as
// CO-RE does for types, from the last "___" that has no underscore on
// either side (bpf_core_essential_name_len).
func kfuncName(name string) string {
	for i := len(name) - 5; i >= 0; i-- {
		if name[i] != '_' && name[i+1:i+4] == "___" && name[i+4] != '_' {
			return name[:i+1]
		}
	}
	return name
}

// bpfFSleepable is BPF_F_SLEEPABLE.
const bpfFSleepable = 1 << 4

// scanCode reads the object's executable sections one 8-byte slot at a
// time: whatever instruction boundaries a loader assumes, a call or the
// first half of a 16-byte load is a slot of its own (the second half has
// opcode 0), so nothing below hides from this scan. It returns every
// helper any slot calls, and fails on the first slot that names a kernel
// object by number (see HostRefError).
func scanCode(obj []byte) (helpers []Helper, err error) {
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		return nil, err
	}
	ids := map[int32]bool{}
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_EXECINSTR == 0 || s.Type != elf.SHT_PROGBITS {
			continue
		}
		if s.Size > uint64(len(obj)) {
			return nil, fmt.Errorf("section %q is larger than the object", s.Name)
		}
		code, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("section %q: %w", s.Name, err)
		}
		for i := 0; i+asm.InstructionSize <= len(code); i += asm.InstructionSize {
			slot := code[i : i+asm.InstructionSize]
			op := asm.OpCode(slot[0])
			// The register byte is dst:4, src:4 in the object's bit order.
			src := slot[1] >> 4
			if f.ByteOrder == binary.BigEndian {
				src = slot[1] & 0x0f
			}
			imm := int32(f.ByteOrder.Uint32(slot[4:]))
			switch {
			case op == asm.LoadImmOp(asm.DWord) && src != 0 && src != pseudoFunc,
				(op.Class() == asm.JumpClass || op.Class() == asm.Jump32Class) && op.JumpOp() == asm.Call && src == pseudoKfuncCall:
				return nil, &HostRefError{Section: s.Name, Insn: i / asm.InstructionSize, Src: src, Imm: imm, Call: op.JumpOp() == asm.Call}
			case (op.Class() == asm.JumpClass || op.Class() == asm.Jump32Class) && op.JumpOp() == asm.Call && src == 0:
				ids[imm] = true
			}
		}
	}
	for _, id := range sortedKeys(ids) {
		helpers = append(helpers, helper(id))
	}
	return helpers, nil
}

// The kernel's src_reg values that turn a 16-byte load or a call into a
// reference to a kernel object (include/uapi/linux/bpf.h).
const (
	pseudoMapFD     = 1 // BPF_PSEUDO_MAP_FD: imm is a map fd
	pseudoMapValue  = 2 // BPF_PSEUDO_MAP_VALUE: imm is a map fd, the value's address is loaded
	pseudoBTFID     = 3 // BPF_PSEUDO_BTF_ID: imm is a kernel variable's BTF id
	pseudoFunc      = 4 // BPF_PSEUDO_FUNC: imm is an instruction offset in the object's own code
	pseudoMapIdx    = 5 // BPF_PSEUDO_MAP_IDX: imm indexes the loader's fd array
	pseudoMapIdxVal = 6 // BPF_PSEUDO_MAP_IDX_VALUE
	pseudoKfuncCall = 2 // BPF_PSEUDO_KFUNC_CALL (in a call): imm is a kernel function's BTF id
)

// HostRefError is an object whose code names a kernel object by number
// rather than by a symbol the loader relocates: a 16-byte load of a map
// fd, of a map value by fd, of a kernel variable by BTF id or of an entry
// of the loader's fd array, or a call of a kernel function by BTF id.
// Compilers never emit these (a map reference is a load of 0 with a
// relocation, which libbpf fills in with the object's own map), and
// libbpf passes them to the kernel as they are, where a map fd is one of
// the host's: another guest's map, or the runtime's own. So no policy
// admits such an object, "all" included.
type HostRefError struct {
	Section string
	Insn    int   // the slot's index in the section
	Src     uint8 // the instruction's src_reg
	Imm     int32
	Call    bool
}

func (e *HostRefError) Error() string {
	var what string
	switch {
	case e.Call:
		what = fmt.Sprintf("calls the kernel function of BTF id %d", e.Imm)
	case e.Src == pseudoMapFD:
		what = fmt.Sprintf("loads map fd %d", e.Imm)
	case e.Src == pseudoMapValue:
		what = fmt.Sprintf("loads a value of map fd %d", e.Imm)
	case e.Src == pseudoBTFID:
		what = fmt.Sprintf("loads the kernel variable of BTF id %d", e.Imm)
	case e.Src == pseudoMapIdx || e.Src == pseudoMapIdxVal:
		what = fmt.Sprintf("loads entry %d of the loader's fd array", e.Imm)
	default:
		what = fmt.Sprintf("loads a 64-bit immediate of kind %d", e.Src)
	}
	return fmt.Sprintf("code in section %q (instruction %d) %s by number, not through a relocation: "+
		"in the host that number is the runtime's, another guest's object or its own, so no policy admits it; "+
		"reference maps and kernel symbols by name (&map, extern ... __ksym) and let the loader relocate them",
		e.Section, e.Insn, what)
}

func sortedKeys[K interface{ ~int32 | ~string }](m map[K]bool) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func addSat(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}
