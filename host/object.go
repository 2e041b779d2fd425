package host

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

// loadObject is wasm_load_bpf_object(obj_buf, obj_buf_sz) -> handle, or 0.
func (g *guest) loadObject(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	const fn = "wasm_load_bpf_object"
	defer g.stats.since(time.Now())
	ptr, size := uint32(args[0].I32()), args[1].I32()
	if size <= 0 {
		g.refuse(fn, syscall.EINVAL, "object size is not positive", "size", size)
		return retI64(0)
	}
	buf, ok := g.memory(c).Slice(ptr, uint32(size))
	if !ok {
		g.refuse(fn, syscall.EFAULT, "object range outside guest memory", "ptr", ptr, "size", size)
		return retI64(0)
	}
	if max := g.cfg.MaxObjects; max > 0 && len(g.objects) >= max {
		g.log.Warn("guest reached its limit of open BPF objects; load refused", "max_objects", max)
		return retI64(0)
	}
	handle := g.lastHandle + 1
	analysis, err := g.admit(handle, buf)
	if err != nil {
		g.refused(err)
		return retI64(0)
	}
	o, err := g.open(handle, buf, analysis)
	if err != nil {
		if !g.refused(err) {
			g.refuse(fn, syscall.EINVAL, "load failed; libbpf explains why in the debug log (-v)", "err", err)
		}
		return retI64(0)
	}
	g.lastHandle = handle
	g.objects[handle] = o
	for fd, m := range o.maps {
		if err := g.maptab.Set(fd, m.typ, m.keySize, m.valueSize); err != nil {
			g.close(o)
			g.refuse(fn, syscall.ENOMEM, "map table", "err", err)
			return retI64(0)
		}
	}
	// A map value may carry the guest's own programs (a prog array, a
	// devmap's XDP program) and no one else's.
	for _, fd := range o.progs {
		if err := g.maptab.SetProgram(fd); err != nil {
			g.close(o)
			g.refuse(fn, syscall.ENOMEM, "map table", "err", err)
			return retI64(0)
		}
	}
	g.stats.loaded(o)
	g.log.Debug(fn, "handle", handle, "object", o.obj.Name(), "maps", len(o.maps))
	return retI64(handle)
}

func (g *guest) open(handle uint64, elf []byte, analysis *policy.Object) (*object, error) {
	obj, err := libbpf.Open(g.name, elf)
	if err != nil {
		return nil, err
	}
	if err := matchLibbpf(g.label(), handle, analysis, obj); err != nil {
		obj.Close()
		return nil, err
	}
	// A guest's maps live and die with it: nothing is pinned to bpffs, and
	// no map pinned there by anyone else is reused.
	if err := obj.NoPinning(); err != nil {
		obj.Close()
		return nil, err
	}
	if err := obj.Load(); err != nil {
		obj.Close()
		return nil, err
	}
	o := &object{handle: handle, obj: obj, maps: map[int32]*mapRef{}, buffers: map[int32]buffer{}, analysis: analysis}
	for _, m := range obj.Maps() {
		fd := m.FD()
		if fd < 0 {
			continue // not created (autocreate off)
		}
		vsize, err := m.ValueSize()
		if err != nil {
			obj.Close()
			return nil, fmt.Errorf("map %q: %w", m.Name(), err)
		}
		o.maps[int32(fd)] = &mapRef{name: m.Name(), typ: m.Type(), keySize: m.KeySize(), valueSize: vsize}
	}
	for _, p := range obj.Programs() {
		if fd := p.FD(); fd >= 0 { // < 0: not loaded (autoload off)
			o.progs = append(o.progs, int32(fd))
		}
	}
	return o, nil
}

// objectName names a guest's BPF objects after its module, as libbpf
// names objects after their file; map names like "<name>.rodata" derive
// from it.
func objectName(args []string) string {
	name := "wasm_bpf"
	if len(args) > 0 {
		base := strings.TrimSuffix(filepath.Base(args[0]), ".wasm")
		var b strings.Builder
		for _, r := range base {
			if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
		if b.Len() > 0 && b.Len() <= 64 {
			name = b.String()
		}
	}
	return name
}

// closeObject is wasm_close_bpf_object(handle) -> 0.
func (g *guest) closeObject(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	defer g.stats.since(time.Now())
	handle := uint64(args[0].I64())
	o, ok := g.objects[handle]
	if !ok {
		g.log.Debug("wasm_close_bpf_object: unknown handle", "handle", handle)
		return retI32(0)
	}
	g.close(o)
	return retI32(0)
}

// attachProgram is wasm_attach_bpf_program(handle, name, attach_target).
func (g *guest) attachProgram(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	const fn = "wasm_attach_bpf_program"
	defer g.stats.since(time.Now())
	handle, namePtr, targetPtr := uint64(args[0].I64()), uint32(args[1].I32()), uint32(args[2].I32())
	o, ok := g.objects[handle]
	if !ok {
		return retI32(g.refuse(fn, syscall.EINVAL, "unknown handle", "handle", handle))
	}
	mem := g.memory(c)
	name, ok := mem.CString(namePtr)
	if !ok {
		return retI32(g.refuse(fn, syscall.EFAULT, "program name is not a string in guest memory", "ptr", namePtr))
	}
	var target string
	if targetPtr != 0 {
		if target, ok = mem.CString(targetPtr); !ok {
			return retI32(g.refuse(fn, syscall.EFAULT, "attach target is not a string in guest memory", "ptr", targetPtr))
		}
	}
	prog, err := o.obj.Program(name)
	if err != nil {
		return retI32(g.refuse(fn, syscall.ENOENT, "no such program", "program", name))
	}
	permitted, err := g.permitAttach(o, name, target)
	if err != nil {
		if g.refused(err) {
			return retI32(-int32(syscall.EPERM))
		}
		g.log.Debug(fn+": attach target", "program", name, "target", target, "err", err)
		return retI32(errnoOf(err))
	}
	target = permitted
	if max := g.cfg.MaxLinks; max > 0 && g.links() >= max {
		g.log.Warn("guest reached its limit of attached programs; attach refused", "max_links", max, "program", name)
		return retI32(-int32(syscall.EMFILE))
	}
	link, err := attach(prog, target)
	if err != nil {
		g.log.Debug(fn+": attach failed", "program", name, "section", prog.Section(), "target", target, "err", err)
		return retI32(errnoOf(err))
	}
	o.links = append(o.links, link)
	g.stats.attached()
	g.log.Debug(fn, "program", name, "section", prog.Section(), "target", target)
	return retI32(0)
}

// attach picks the libbpf attach call for the program's type: a target
// names an interface for XDP and socket filters and a cgroup v2 directory
// for cgroup programs; other programs attach as their section says.
func attach(p *libbpf.Program, target string) (*libbpf.Link, error) {
	t := p.Type()
	switch {
	case t == libbpf.ProgTypeSocketFilter:
		if target == "" {
			return nil, fmt.Errorf("attach %q: a socket filter needs an interface name: %w", p.Name(), syscall.EINVAL)
		}
		return p.AttachSocket(target)
	case target != "" && t == libbpf.ProgTypeXDP:
		return p.AttachXDP(target)
	case target != "" && t.IsCgroup():
		return p.AttachCgroup(target)
	default:
		return p.Attach()
	}
}

// links counts the attachments of all the guest's objects.
func (g *guest) links() int {
	n := 0
	for _, o := range g.objects {
		n += len(o.links)
	}
	return n
}
