package host

import (
	"log/slog"
	"syscall"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/host/internal/cabi"
	"github.com/wasm-bpf/wasm-bpf/internal/guestmem"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
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
	// closing holds the objects the guest closed from a poll's callback:
	// they are released when their polls return (pollHost.PollClosed).
	closing map[*object]struct{}
	// maptab holds the map fds and buffer consumers of the guest's open
	// objects for the host functions served in C (host/internal/cabi):
	// wasm_bpf_map_operate and the polls. Other guests' fds are absent.
	maptab *cabi.Table

	// fatal is what ended the guest inside a host call that called back into
	// it (a trap or proc_exit in a poll callback); the host call returns a
	// trap and Run reports fatal instead.
	fatal error
}

// object is one loaded BPF object, named by its handle.
type object struct {
	handle  uint64
	obj     *libbpf.Object
	links   []*libbpf.Link
	maps    map[int32]*mapRef
	buffers map[int32]buffer
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

func newGuest(store *wasmtime.Store, ctl *control, cfg Config) *guest {
	g := &guest{
		log:     cfg.Logger,
		cfg:     cfg,
		name:    objectName(cfg.Args),
		store:   store,
		ctl:     ctl,
		objects: map[uint64]*object{},
		closing: map[*object]struct{}{},
	}
	g.maptab = cabi.New(func(fd, cmd int32, errno syscall.Errno, why string) {
		g.log.Debug("wasm_bpf_map_operate: "+why, "fd", fd, "cmd", cmd, "errno", errno.Error())
	}, (*pollHost)(g), ctl.waker.FD(), ctl.waker.Flag())
	return g
}

// memory is the guest's linear memory now; it may move when the guest
// grows it, so it is fetched again after every call into the guest. A
// guest without memory gets an empty one: every pointer is then refused.
// s is the calling host function's Caller, or the store for code that has
// none (the batched poll's Go path, reached from C).
func (g *guest) memory(s wasmtime.Storelike) guestmem.Memory {
	if g.mem == nil {
		if c, ok := s.(*wasmtime.Caller); ok {
			if e := c.GetExport("memory"); e != nil {
				g.mem = e.Memory()
			}
		}
		if g.mem == nil {
			return nil
		}
	}
	return guestmem.Memory(g.mem.UnsafeData(s))
}

// refuse logs why a host call was refused and returns -errno.
func (g *guest) refuse(fn string, errno syscall.Errno, why string, args ...any) int32 {
	g.log.Debug(fn+": "+why, append(args, "errno", errno.Error())...)
	return -int32(errno)
}

// close forgets the object's handle and map fds and releases it, or, if
// a poll of it is delivering records (the guest closed it from a
// callback), puts that off until the poll returns.
func (g *guest) close(o *object) {
	delete(g.objects, o.handle)
	for fd := range o.maps {
		g.maptab.Remove(fd)
	}
	if o.busy() {
		g.closing[o] = struct{}{}
		g.maptab.SetClosing(true)
		return
	}
	g.release(o)
}

// release destroys the object's links, frees its consumers and closes it.
func (g *guest) release(o *object) {
	for _, l := range o.links {
		l.Destroy()
	}
	for _, b := range o.buffers {
		b.Close()
	}
	o.obj.Close()
	o.links, o.buffers = nil, nil
}

// closeAll closes every object the guest left open, and those whose close
// was put off: no poll is in progress once the guest has ended.
func (g *guest) closeAll() {
	for _, o := range g.objects {
		g.close(o)
	}
	for o := range g.closing {
		g.release(o)
	}
	clear(g.closing)
}

// end records what ends the guest inside a nested call; the first cause wins.
func (g *guest) end(err error) {
	if g.fatal == nil {
		g.fatal = err
	}
}
