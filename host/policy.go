package host

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"syscall"

	"github.com/wasm-bpf/wasm-bpf/host/internal/diagnose"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

// The capability policy at the two places a guest reaches the kernel with
// a BPF object: wasm_load_bpf_object (admit, then matchLibbpf between
// libbpf's open and load) and wasm_attach_bpf_program (permitAttach).
// Every refusal is a *policyRefusal, an error wrapping EPERM whose text is the
// one line the user sees at the default log level.

// policyRefusal is the policy refusing a load or an attachment.
type policyRefusal struct{ msg string }

func (r *policyRefusal) Error() string { return r.msg }
func (r *policyRefusal) Unwrap() error { return syscall.EPERM }

func refuse(format string, args ...any) error { return &policyRefusal{fmt.Sprintf(format, args...)} }

// label names the guest in refusals: its module's file name.
func (g *guest) label() string {
	if len(g.cfg.Args) > 0 && g.cfg.Args[0] != "" {
		return filepath.Base(g.cfg.Args[0])
	}
	return "guest"
}

// admit analyses an object and checks it against the guest's policy and
// its kernel memory limit, before libbpf or the kernel see any of it.
func (g *guest) admit(handle uint64, elf []byte) (*policy.Object, error) {
	obj, err := policy.Analyze(elf)
	var hostRef *policy.HostRefError
	if errors.As(err, &hostRef) {
		return nil, refuse("%s: object %d: %v", g.label(), handle, err)
	}
	if err != nil && !hasBTF(elf) {
		// The likely cause, and the one the user can fix: libbpf would
		// refuse it too (ENOENT), for the same reason.
		return nil, &explained{diagnose.NoBTF(g.name), fmt.Errorf("%w: %w", err, syscall.ENOENT)}
	}
	if err != nil {
		return nil, refuse("%s: object %d cannot be analysed (%v), and what the policy cannot see it refuses",
			g.label(), handle, err)
	}
	if err := g.cfg.Policy.Check(obj); err != nil {
		return nil, refuse("%s: object %d: %v", g.label(), handle, err)
	}
	if limit := g.cfg.MaxMapMemory; limit > 0 {
		held := g.mapMemory()
		need := uint64(obj.MapMemory())
		if need > limit || held > limit-need {
			return nil, refuse("%s: object %d: its maps need %v of kernel memory (the largest: %s)%s, over the limit of %v; run with --max-map-memory %s",
				g.label(), handle, policy.Bytes(need), largestMap(obj), heldText(held), policy.Bytes(limit),
				suggestSize(need+held))
		}
	}
	return obj, nil
}

// mapMemory is the estimated kernel memory of the maps of the guest's
// objects in the kernel, those closed from their own poll's callback
// included.
func (g *guest) mapMemory() uint64 {
	var sum uint64
	for o := range g.held {
		sum += min(uint64(o.analysis.MapMemory()), math.MaxUint64-sum)
	}
	return sum
}

func largestMap(obj *policy.Object) string {
	var big policy.Map
	for _, m := range obj.Maps {
		if m.Memory >= big.Memory {
			big = m
		}
	}
	if in := big.Inner; in != nil {
		return fmt.Sprintf("map %q, %s of %d entries whose inner map is %s of %d entries, %v",
			big.Name, big.TypeName(), big.MaxEntries, in.TypeName(), in.MaxEntries, big.Memory)
	}
	return fmt.Sprintf("map %q, %s of %d entries, %v", big.Name, big.TypeName(), big.MaxEntries, big.Memory)
}

func heldText(held uint64) string {
	if held == 0 {
		return ""
	}
	return fmt.Sprintf(" besides the %v its other objects hold", policy.Bytes(held))
}

// suggestSize is a round size, in MiB or GiB, of at least n bytes.
func suggestSize(n uint64) string {
	const mib, gib = 1 << 20, 1 << 30
	if n <= 1024*mib {
		return fmt.Sprintf("%dMiB", (n+mib-1)/mib)
	}
	return fmt.Sprintf("%dGiB", (n+gib-1)/gib)
}

// matchLibbpf refuses an object that libbpf, which loads it, reads
// differently from the analysis the policy judged: another program or
// section, type or attach type, or other maps. A difference between two
// parsers would be a way around the policy.
func matchLibbpf(label string, handle uint64, a *policy.Object, obj *libbpf.Object) error {
	differ := func(format string, args ...any) error {
		return refuse("%s: object %d: libbpf reads it differently from the policy's analysis (%s), so it is refused",
			label, handle, fmt.Sprintf(format, args...))
	}
	progs := obj.Programs()
	if len(progs) != len(a.Programs) {
		return differ("%d programs, not %d", len(progs), len(a.Programs))
	}
	for _, p := range progs {
		ap, ok := a.Program(p.Name())
		switch {
		case !ok:
			return differ("program %q", p.Name())
		case p.Section() != ap.Section:
			return differ("program %q in section %q, not %q", p.Name(), p.Section(), ap.Section)
		case uint32(p.Type()) != uint32(ap.Type):
			return differ("program %q of type %v, not %d", p.Name(), p.Type(), uint32(ap.Type))
		case p.ExpectedAttachType() != uint32(ap.AttachType):
			return differ("program %q of attach type %d, not %d", p.Name(), p.ExpectedAttachType(), uint32(ap.AttachType))
		}
	}
	maps := obj.Maps()
	if len(maps) != len(a.Maps) {
		return differ("%d maps, not %d", len(maps), len(a.Maps))
	}
	for _, m := range maps {
		am, ok := analysedMap(a, m.Name())
		switch {
		case !ok:
			return differ("map %q", m.Name())
		case !sameMap(m, am):
			return differ("map %q: %s, not %s", m.Name(), libbpfMapText(m), analysedMapText(am))
		case (m.Inner() == nil) != (am.Inner == nil) || m.Inner() != nil && !sameMap(m.Inner(), *am.Inner):
			return differ("map %q: inner map %s, not %s", m.Name(), libbpfMapText(m.Inner()), analysedMapText(deref(am.Inner)))
		}
	}
	return nil
}

func sameMap(m *libbpf.Map, am policy.Map) bool {
	return uint32(m.Type()) == uint32(am.Type) && m.KeySize() == am.KeySize &&
		sameValueSize(m, am) && m.MaxEntries() == am.MaxEntries
}

func libbpfMapText(m *libbpf.Map) string {
	if m == nil {
		return "none"
	}
	return fmt.Sprintf("%v, key %d, value %d, %d entries", m.Type(), m.KeySize(), m.RawValueSize(), m.MaxEntries())
}

func analysedMapText(am policy.Map) string {
	if am.Type == 0 {
		return "none"
	}
	return fmt.Sprintf("%s, key %d, value %d, %d entries", am.TypeName(), am.KeySize, am.ValueSize, am.MaxEntries)
}

func deref(m *policy.Map) policy.Map {
	if m == nil {
		return policy.Map{}
	}
	return *m
}

// sameValueSize compares the value sizes the two parsers read. cilium/ebpf
// reads a perf event array's as 0 whatever its definition says, where
// libbpf keeps the declared 4 (or 0, which it makes 4 at creation: the only
// value size the kernel takes for that type).
func sameValueSize(m *libbpf.Map, am policy.Map) bool {
	if m.Type() == libbpf.MapTypePerfEventArray && am.ValueSize == 0 {
		return m.RawValueSize() == 0 || m.RawValueSize() == 4
	}
	return m.RawValueSize() == am.ValueSize
}

// analysedMap finds libbpf's map name in the analysis: libbpf prefixes the
// maps of global data (.rodata, .bss, ...) with the object's name.
func analysedMap(a *policy.Object, name string) (policy.Map, bool) {
	for _, m := range a.Maps {
		if m.Name == name {
			return m, true
		}
	}
	for _, m := range a.Maps {
		if len(m.Name) > 0 && m.Name[0] == '.' && len(name) > len(m.Name) && name[len(name)-len(m.Name):] == m.Name {
			return m, true
		}
	}
	return policy.Map{}, false
}

// permitAttach checks an attachment against the guest's policy and returns
// the target to attach to (a cgroup directory with its symlinks resolved).
func (g *guest) permitAttach(o *object, name, target string) (string, error) {
	prog, ok := o.analysis.Program(name)
	if !ok {
		return "", refuse("%s: object %d: program %q is not in the policy's analysis", g.label(), o.handle, name)
	}
	resolved, err := g.cfg.Policy.CheckAttach(prog, target)
	var r *policy.Refusal
	if errors.As(err, &r) {
		return "", refuse("%s: object %d: %v", g.label(), o.handle, err)
	}
	if err != nil {
		return "", fmt.Errorf("attach %q: %w", name, err)
	}
	return resolved, nil
}
