package host

import (
	"log/slog"
	"syscall"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/host/internal/cabi"
	"github.com/wasm-bpf/wasm-bpf/internal/guestmem"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
	"github.com/wasm-bpf/wasm-bpf/policy"
	"github.com/wasm-bpf/wasm-bpf/wasi"
)

// guest is one running guest instance: its store, the exports the host
// calls back into, and its handle table. It is used from the goroutine that
// runs the guest only.
type guest struct {
	log   *slog.Logger
	cfg   Config
	name  string // prefix of the guest's BPF object names
	store *wasmtime.Store
	ctl   *control

	// Resolved on first use: a module's start function may call the host
	// before Instantiate returns.
	mem *wasmtime.Memory

	objects    map[uint64]*object
	lastHandle uint64
	// held is every object still in the kernel: those in objects, and
	// those the guest closed from a callback of their own poll, which stay
	// until the poll returns (pollHost.PollClosed). Limits count these.
	held map[*object]struct{}
	// maptab holds the map and program fds and buffer consumers of the
	// guest's open objects for the host functions served in C
	// (host/internal/cabi): wasm_bpf_map_operate and the polls. Other
	// guests' fds are absent.
	maptab *cabi.Table

	stats *guestStats // host/stats.go

	loads chan struct{} // the runtime's load slots (Runtime.loads)

	// fatal is what ended the guest inside a host call that called back into
	// it (a trap or proc_exit in a poll callback); the host call returns a
	// trap and Run reports fatal instead.
	fatal error

	last lastError // for wasm_bpf_last_error (failure.go)

	exit *wasi.Exiter // serves proc_exit and says how the guest ended
}

// object is one loaded BPF object, named by its handle.
type object struct {
	handle  uint64
	obj     *libbpf.Object
	links   []*libbpf.Link
	maps    map[int32]*mapRef
	progs   []int32 // fds of the loaded programs
	buffers map[int32]buffer
	fds     int // file descriptors the object holds, and its buffers may (see objectFDs)

	analysis *policy.Object // what the policy admitted (host/policy.go)
}

type mapRef struct {
	name      string
	typ       libbpf.MapType
	keySize   uint32
	valueSize uint32 // bytes a lookup writes (all CPUs for per-CPU maps)
}

// buffer is a ring or perf buffer consumer.
type buffer interface {
	Target() unsafe.Pointer // what the polls' C path polls (host/internal/cabi)
	Busy() bool             // a poll is delivering records: its callback is running
	CountInto(*libbpf.Counters)
	Close()
}

// busy reports whether a poll of one of o's buffers is delivering records.
func (o *object) busy() bool {
	for _, b := range o.buffers {
		if b.Busy() {
			return true
		}
	}
	return false
}

func newGuest(store *wasmtime.Store, ctl *control, cfg Config, loads chan struct{}) *guest {
	g := &guest{
		log:     cfg.Logger,
		cfg:     cfg,
		name:    objectName(cfg.Args),
		store:   store,
		ctl:     ctl,
		objects: map[uint64]*object{},
		held:    map[*object]struct{}{},
		stats:   newGuestStats(),
		loads:   loads,
	}
	g.maptab = cabi.New(func(fd, cmd int32, errno syscall.Errno, why string) {
		args := []any{"fd", fd, "cmd", cmd, "errno", errno.Error()}
		if m := g.mapRef(fd); m != nil {
			args = append([]any{"map", m.name}, args...)
		}
		g.log.Debug("wasm_bpf_map_operate: "+why, args...)
	}, (*pollHost)(g), ctl.waker.FD(), ctl.waker.Flag())
	return g
}

// mapRef is the guest's map fd, or nil.
func (g *guest) mapRef(fd int32) *mapRef {
	for _, o := range g.objects {
		if m, ok := o.maps[fd]; ok {
			return m
		}
	}
	return nil
}

// memory is the guest's linear memory now, seen from a host function's
// Caller. It never moves (engineConfig) but grows, so its length is asked
// again on every call. A guest without memory gets an empty one: every
// pointer is then refused.
func (g *guest) memory(c *wasmtime.Caller) guestmem.Memory {
	if g.mem == nil {
		if e := c.GetExport("memory"); e != nil {
			g.mem = e.Memory()
		}
		if g.mem == nil {
			return nil
		}
	}
	return guestmem.Memory(g.mem.UnsafeData(c))
}

// refuse logs why a host call was refused, at debug level (a bad
// argument: the guest's bug, or a hostile guest's probing), records it for
// wasm_bpf_last_error and returns -errno.
func (g *guest) refuse(fn string, errno syscall.Errno, why string, args ...any) int32 {
	g.log.Debug(fn+": "+why, append(args, "errno", errno.Error())...)
	return g.note(errno, refusal(fn, why, errno, args))
}

// close forgets the object's handle and fds and releases it, or, if a
// poll of it is delivering records (the guest closed it from a callback),
// puts that off until the poll returns (pollHost.PollClosed).
func (g *guest) close(o *object) {
	g.forget(o)
	if o.busy() {
		g.maptab.SetClosing(true)
		return
	}
	g.release(o)
}

// release destroys the object's links, frees its consumers and closes it.
func (g *guest) release(o *object) {
	g.stats.closing(o)
	for _, l := range o.links {
		l.Destroy()
	}
	for _, b := range o.buffers {
		b.Close()
	}
	o.obj.Close()
	o.links, o.buffers = nil, nil
	delete(g.held, o)
}

// forget makes the object's handle and fds unknown to the guest's calls.
func (g *guest) forget(o *object) {
	delete(g.objects, o.handle)
	for fd := range o.maps {
		g.maptab.Remove(fd)
	}
	for _, fd := range o.progs {
		g.maptab.Remove(fd)
	}
}

// closeAll releases every object the guest left in the kernel, those
// whose close was put off included: no poll is in progress once the guest
// has ended.
func (g *guest) closeAll() {
	for o := range g.held {
		g.forget(o)
		g.release(o)
	}
	g.stats.ended()
}

// links counts the attachments of the objects in the kernel.
func (g *guest) links() int {
	n := 0
	for o := range g.held {
		n += len(o.links)
	}
	return n
}

// fds counts the file descriptors the guest makes the host hold: its
// objects' (and their buffers'), and its links'.
func (g *guest) fds() int {
	n := 0
	for o := range g.held {
		n += o.fds
		for _, l := range o.links {
			n += l.FDs()
		}
	}
	return n
}

// end records what ends the guest inside a nested call; the first cause wins.
func (g *guest) end(err error) {
	if g.fatal == nil {
		g.fatal = err
	}
}

// maxFDs is the guest's limit of file descriptors; 0 is none.
func (g *guest) maxFDs() int {
	switch {
	case g.cfg.MaxFDs == 0:
		return DefaultMaxFDs
	case g.cfg.MaxFDs < 0:
		return 0
	}
	return g.cfg.MaxFDs
}
