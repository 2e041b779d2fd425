package host

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// LostVariable is the global variable (an 8-byte integer in .bss or .data)
// in which a guest's BPF program counts the records it could not hand
// over, such as ring buffer reservations that failed: the kernel counts
// none of those itself. Stats.ProgramLost adds it up over the guest's
// objects.
const LostVariable = "wasm_bpf_records_lost"

// Stats are a guest's counters: while it runs, and their last values once
// it has ended. Reading them costs the guest nothing: its polls count in C
// memory (libbpf.Counters) and the rest changes only at loads, attaches and
// closes.
type Stats struct {
	Polls       uint64 // buffer polls that reached a buffer
	Records     uint64 // records those polls handed to the guest
	PerfLost    uint64 // records its perf buffers reported lost (the kernel found them full)
	ProgramLost uint64 // records its BPF programs report lost (LostVariable)

	// CPUTime is the guest's CPU time as Config.CPULimit counts it: its
	// thread's, in Wasm code and the host calls made there, read at each
	// 10 ms epoch tick in which it runs Wasm.
	CPUTime time.Duration
	// HostTime is the time in host calls: buffer polls (their waits
	// included), object loads, attaches and closes. Map calls (one bpf()
	// each, served in C) and WASI calls are not timed.
	HostTime time.Duration

	Memory uint64 // bytes of linear memory, sampled at each epoch tick the guest runs Wasm in; 0 once ended

	// What the guest holds in the kernel now, and the kernel memory its
	// maps and programs account ("memlock").
	Objects, Programs, Maps, Links int
	KernelMemory                   uint64
}

// Stats returns the guest's counters.
func (i *Instance) Stats() Stats {
	s := i.stats.load()
	s.CPUTime = i.ctl.cpuTime()
	return s
}

// CacheStats counts the compile cache's hits and misses since the runtime
// was created (zeros without a cache).
func (rt *Runtime) CacheStats() (hits, misses uint64) {
	if rt.cache == nil {
		return 0, 0
	}
	return rt.cache.hits.Load(), rt.cache.misses.Load()
}

// guestStats is where a guest's counters live; the guest's own goroutine
// writes them, any goroutine reads them.
type guestStats struct {
	hostNs atomic.Int64
	memory atomic.Uint64

	mu       sync.Mutex
	counters *libbpf.Counters // created with the first buffer; nil after the guest ended
	polls    libbpf.PollCounts
	objects  map[*object]heldObject
	links    int
	lostDone uint64 // LostVariable of closed objects
}

// heldObject is what a loaded object counts for.
type heldObject struct {
	maps, progs int
	memlock     uint64
	lost        *libbpf.GlobalU64 // LostVariable, or nil
}

func newGuestStats() *guestStats {
	return &guestStats{objects: map[*object]heldObject{}}
}

func (s *guestStats) load() Stats {
	st := Stats{
		HostTime: time.Duration(s.hostNs.Load()),
		Memory:   s.memory.Load(),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pc := s.polls
	if s.counters != nil {
		pc = s.counters.Load()
	}
	st.Polls, st.Records, st.PerfLost = pc.Polls, pc.Records, pc.Lost
	st.HostTime += pc.PollTime
	st.ProgramLost = s.lostDone
	for _, h := range s.objects {
		st.Objects++
		st.Maps += h.maps
		st.Programs += h.progs
		st.KernelMemory += h.memlock
		if h.lost != nil {
			st.ProgramLost += h.lost.Load()
		}
	}
	st.Links = s.links
	return st
}

// since adds the time since t0 to the host call time.
func (s *guestStats) since(t0 time.Time) { s.hostNs.Add(int64(time.Since(t0))) }

// pollCounters are the counters every buffer of the guest counts into.
func (s *guestStats) pollCounters() *libbpf.Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counters == nil {
		s.counters = libbpf.NewCounters()
	}
	return s.counters
}

// loaded counts a loaded object.
func (s *guestStats) loaded(o *object) {
	h := heldObject{maps: len(o.maps), progs: len(o.progs), lost: o.obj.GlobalU64(LostVariable)}
	for fd := range o.maps {
		n, _ := libbpf.Memlock(int(fd))
		h.memlock += n
	}
	for _, fd := range o.progs {
		n, _ := libbpf.Memlock(int(fd))
		h.memlock += n
	}
	s.mu.Lock()
	s.objects[o] = h
	s.mu.Unlock()
}

func (s *guestStats) attached() {
	s.mu.Lock()
	s.links++
	s.mu.Unlock()
}

// closing forgets an object before it is closed (its LostVariable goes
// with its maps).
func (s *guestStats) closing(o *object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.objects[o]
	if !ok {
		return
	}
	if h.lost != nil {
		s.lostDone += h.lost.Load()
		h.lost.Close()
	}
	s.links -= len(o.links)
	delete(s.objects, o)
}

// ended keeps the poll counters' last values once every buffer is closed.
func (s *guestStats) ended() {
	s.memory.Store(0)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counters != nil {
		s.polls = s.counters.Load()
		s.counters.Free()
		s.counters = nil
	}
}

// findMemory resolves the guest's memory once it is instantiated, for
// the samples of onDeadline: a guest that makes no wasm_bpf host call
// would otherwise never have it resolved.
func (g *guest) findMemory(inst *wasmtime.Instance) {
	if g.mem == nil {
		if e := inst.GetExport(g.store, "memory"); e != nil {
			g.mem = e.Memory()
		}
	}
}

// onDeadline is the store's epoch deadline callback: the control's, and a
// sample of the guest's memory size.
func (g *guest) onDeadline() (uint64, error) {
	if g.mem != nil {
		g.stats.memory.Store(uint64(g.mem.DataSize(g.store)))
	}
	return g.ctl.onDeadline()
}
