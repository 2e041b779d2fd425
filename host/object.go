package host

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
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
	if max := g.cfg.MaxObjects; max > 0 && len(g.held) >= max {
		g.fail(syscall.EMFILE, fmt.Sprintf("load refused: the guest holds as many BPF objects as it may, max_objects=%d (wasm-bpf --max-objects)", max))
		return retI64(0)
	}
	handle := g.lastHandle + 1
	analysis, err := g.admit(handle, buf)
	if err != nil {
		g.failErr(err)
		return retI64(0)
	}
	// Checked before libbpf creates anything, and again below with what
	// it did create: an object of many maps would otherwise take the
	// process's descriptors from everyone before its load failed.
	if need := analysedFDs(analysis); g.maxFDs() > 0 && g.fds()+need > g.maxFDs() {
		g.fail(syscall.EMFILE, fdRefusal(need, g.fds(), g.maxFDs()))
		return retI64(0)
	}
	o, err := g.open(handle, buf, analysis)
	if err != nil && g.ctl.stopCause() != nil {
		return nil, wasmtime.NewTrap(err.Error()) // stopped while the load ran
	}
	if err != nil {
		g.failErr(err)
		return retI64(0)
	}
	if o.fds = objectFDs(o); g.maxFDs() > 0 && g.fds()+o.fds > g.maxFDs() {
		o.obj.Close()
		g.fail(syscall.EMFILE, fdRefusal(o.fds, g.fds(), g.maxFDs()))
		return retI64(0)
	}
	g.lastHandle = handle
	g.objects[handle] = o
	g.held[o] = struct{}{}
	for fd, m := range o.maps {
		if err := g.maptab.Set(fd, handle, m.typ, m.keySize, m.valueSize); err != nil {
			g.close(o)
			g.refuse(fn, syscall.ENOMEM, "map table", "err", err)
			return retI64(0)
		}
	}
	// A map value may carry the programs of its own object (a prog array,
	// a devmap's XDP program) and no one else's.
	for _, fd := range o.progs {
		if err := g.maptab.SetProgram(fd, handle); err != nil {
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
	// admit's policy.Analyze has run objcheck on these bytes, and the guest,
	// blocked in this call, cannot change them.
	obj, err := libbpf.Open(g.name, elf, libbpf.OpenOptions{BTFPath: g.cfg.BTFPath, Checked: true})
	if err != nil {
		return nil, g.explainLoad(elf, nil, err)
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
	if err := g.load(obj); err != nil {
		if !errors.Is(err, errLoadAbandoned) { // else obj is not ours to read any more
			if g.ctl.stopCause() == nil { // a stop needs no diagnosis
				err = g.explainLoad(elf, obj, err)
			}
			obj.Close()
		}
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

// load loads obj into the kernel, or returns why not; the caller then
// closes obj, unless the error is errLoadAbandoned. The verifier may take
// seconds, in a call nothing can interrupt, so the load
// runs on a goroutine of its own and a stop ends the wait at once: the
// load then finishes in the background and closes the object, leaving
// nothing in the kernel.
func (g *guest) load(obj *libbpf.Object) error {
	select {
	case g.loads <- struct{}{}:
	case <-g.ctl.done: // stopped while other loads held every slot
		return fmt.Errorf("load %q: %w", obj.Name(), g.ctl.stopCause())
	}
	result, abandon := make(chan error), make(chan struct{})
	go func() {
		err := obj.Load()
		<-g.loads
		select {
		case result <- err:
		case <-abandon:
			obj.Close()
		}
	}()
	select {
	case err := <-result:
		return err
	case <-g.ctl.done:
		close(abandon)
		return fmt.Errorf("load %q: %w: %w", obj.Name(), errLoadAbandoned, g.ctl.stopCause())
	}
}

// errLoadAbandoned is a load the guest's stop abandoned: its object is
// closed in the background when the kernel is done with it.
var errLoadAbandoned = errors.New("abandoned, the guest was stopped")

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
		return retI32(g.fail(syscall.ENOENT, fmt.Sprintf("cannot attach program %q: the BPF object has no program of that name", name)))
	}
	permitted, err := g.permitAttach(o, name, target)
	if err != nil {
		return retI32(g.failErr(err))
	}
	target = permitted
	if max := g.cfg.MaxLinks; max > 0 && g.links() >= max {
		return retI32(g.fail(syscall.EMFILE, fmt.Sprintf("attach of %q refused: the guest holds as many links as it may, max_links=%d (wasm-bpf --max-links)", name, max)))
	}
	if max := g.maxFDs(); max > 0 && g.fds()+linkFDs(prog, target) > max {
		return retI32(g.fail(syscall.EMFILE, fmt.Sprintf("attach of %q refused: the guest holds %d of the %d file descriptors it may, max_fds=%d (wasm-bpf --max-fds)",
			name, g.fds(), max, max)))
	}
	link, err := attach(prog, target)
	if err != nil {
		return retI32(g.failErr(explainAttach(prog, target, err)))
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

// linkFDs is how many file descriptors attach(p, target) makes the host
// hold, at most.
func linkFDs(p *libbpf.Program, target string) int {
	t := p.Type()
	if t == libbpf.ProgTypeSocketFilter || target != "" && (t == libbpf.ProgTypeXDP || t.IsCgroup()) {
		return 1
	}
	return libbpf.MaxLinkFDs
}

func fdRefusal(need, held, max int) string {
	return fmt.Sprintf("load refused: the object needs %d file descriptors and the guest holds %d of the %d it may, max_fds=%d (wasm-bpf --max-fds)",
		need, held, max, max)
}

// objectFDs is how many file descriptors a loaded object makes the host
// hold: its own (maps, programs, BTF), and those its ring and perf buffer
// consumers would.
func objectFDs(o *object) int {
	n := o.obj.FDs()
	for _, m := range o.maps {
		n += bufferFDs(uint32(m.typ))
	}
	return n
}

// analysedFDs is how many file descriptors an object will make the host
// hold once loaded, at most, from its analysis: as objectFDs counts them,
// for every map and program it has, and the inner map each map of maps
// has while it loads.
func analysedFDs(a *policy.Object) int {
	n := 1 + len(a.Programs) // and the object's BTF
	for _, m := range a.Maps {
		n++
		if m.Inner != nil {
			n++
		}
		n += bufferFDs(uint32(m.Type))
	}
	return n
}

// bufferFDs is what the consumer of a map of this type holds: an epoll
// instance for a ring buffer, and one more perf event per possible CPU
// for a perf buffer.
func bufferFDs(typ uint32) int {
	switch libbpf.MapType(typ) {
	case libbpf.MapTypeRingBuf:
		return 1
	case libbpf.MapTypePerfEventArray:
		cpus, err := libbpf.PossibleCPUs()
		if err != nil {
			cpus = runtime.NumCPU()
		}
		return 1 + cpus
	}
	return 0
}
