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
	mem        *wasmtime.Memory
	table      *wasmtime.Table
	callback   *wasmtime.Func // the callback-wrapper's export, type-checked
	sampleFunc *wasmtime.Func // the last table function that passed the type check

	objects    map[uint64]*object
	lastHandle uint64
	// maptab holds the map and program fds and buffer consumers of the
	// guest's open objects for the host functions served in C
	// (host/internal/cabi): wasm_bpf_map_operate and the batched poll.
	// Other guests' fds are absent.
	maptab *cabi.Table

	stats *guestStats // host/stats.go

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
	progs   []int32 // fds of the loaded programs
	buffers map[int32]buffer
	polls   int  // polls of this object in progress (a callback may close it)
	closing bool // closed by the guest while a poll was in progress

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
	PollDirect(w *libbpf.Waker, timeoutMs int, fn, ctx unsafe.Pointer) (int, error)
	PollBatch(w *libbpf.Waker, timeoutMs int, dst []byte) (int, error)
	Target() unsafe.Pointer // for the C path of the batched poll (host/internal/cabi)
	CountInto(*libbpf.Counters)
	Close()
}

func newGuest(store *wasmtime.Store, ctl *control, cfg Config) *guest {
	g := &guest{
		log:     cfg.Logger,
		cfg:     cfg,
		name:    objectName(cfg.Args),
		store:   store,
		ctl:     ctl,
		objects: map[uint64]*object{},
		stats:   newGuestStats(),
	}
	g.maptab = cabi.New(func(fd, cmd int32, errno syscall.Errno, why string) {
		args := []any{"fd", fd, "cmd", cmd, "errno", errno.Error()}
		if m := g.mapRef(fd); m != nil {
			args = append([]any{"map", m.name}, args...)
		}
		g.log.Debug("wasm_bpf_map_operate: "+why, args...)
	}, g.batchPoll, ctl.waker.FD())
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

// close destroys the object's links, frees its pollers and closes it, or,
// if a poll of it is in progress (the guest closed it from a callback),
// does so when the last poll returns. Either way the handle and its map fds
// are unknown from now on.
func (g *guest) close(o *object) {
	delete(g.objects, o.handle)
	for fd := range o.maps {
		g.maptab.Remove(fd)
	}
	for _, fd := range o.progs {
		g.maptab.Remove(fd)
	}
	if o.polls > 0 {
		o.closing = true
		return
	}
	g.stats.closing(o)
	for _, l := range o.links {
		l.Destroy()
	}
	for _, b := range o.buffers {
		b.Close()
	}
	o.obj.Close()
	o.links, o.buffers = nil, nil
}

// closeAll closes every object the guest left open.
func (g *guest) closeAll() {
	for _, o := range g.objects {
		o.polls = 0 // no poll is in progress once the guest has ended
		g.close(o)
	}
	g.stats.ended()
}

// end records what ends the guest inside a nested call; the first cause wins.
func (g *guest) end(err error) {
	if g.fatal == nil {
		g.fatal = err
	}
}
