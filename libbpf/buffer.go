package libbpf

// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"syscall"
	"unsafe"
)

// ErrWoken is returned by a poll that a [Waker] interrupted.
var ErrWoken = errors.New("poll interrupted")

// SampleFunc receives one record. data aliases the kernel's buffer and is
// valid only during the call. A negative result stops the poll and becomes
// its result, as in libbpf.
type SampleFunc func(data []byte) int

// consumer is what the C trampolines reach through a cgo.Handle: the
// callback of the poll in progress.
type consumer struct {
	fn      SampleFunc
	count   int
	stopped int // the callback's negative result, or 0
	lost    uint64
}

func (c *consumer) deliver(data unsafe.Pointer, size int) int {
	c.count++
	// data points into libbpf's mmap'ed ring: valid for this call only.
	rc := c.fn(unsafe.Slice((*byte)(data), size))
	if rc < 0 {
		c.stopped = rc
	}
	return rc
}

//export wbGoRingSample
func wbGoRingSample(h C.uintptr_t, data unsafe.Pointer, size C.size_t) C.int {
	return C.int(cgo.Handle(h).Value().(*consumer).deliver(data, int(size)))
}

//export wbGoPerfSample
func wbGoPerfSample(h C.uintptr_t, data unsafe.Pointer, size C.uint32_t) C.int {
	return C.int(cgo.Handle(h).Value().(*consumer).deliver(data, int(size)))
}

//export wbGoPerfLost
func wbGoPerfLost(h C.uintptr_t, cpu C.int, lost C.uint64_t) {
	cgo.Handle(h).Value().(*consumer).lost += uint64(lost)
}

// Waker interrupts polls from another goroutine: once woken, every poll
// that is given it returns [ErrWoken] at once, until Reset.
type Waker struct{ fd int }

// NewWaker returns a Waker backed by an eventfd.
func NewWaker() (*Waker, error) {
	fd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		return nil, fmt.Errorf("eventfd: %w", errno)
	}
	return &Waker{fd: int(fd)}, nil
}

// Wake interrupts current and future polls given this Waker.
func (w *Waker) Wake() {
	one := [8]byte{1}
	syscall.Write(w.fd, one[:])
}

// Reset makes polls wait again.
func (w *Waker) Reset() {
	var buf [8]byte
	syscall.Read(w.fd, buf[:]) // non-blocking: EAGAIN when not woken
}

// Close releases the eventfd.
func (w *Waker) Close() { syscall.Close(w.fd) }

func (w *Waker) wakeFD() C.int {
	if w == nil {
		return -1
	}
	return C.int(w.fd)
}

// poller is what ring and perf buffers share: a libbpf manager with an
// epoll fd, and the consumer its C callbacks reach.
type poller struct {
	cons   *consumer
	handle cgo.Handle
	epfd   C.int
	busy   bool
}

// poll waits up to timeoutMs (negative: forever) for records, then hands
// every ready record to fn through consume.
func (p *poller) poll(w *Waker, timeoutMs int, fn SampleFunc, consume func() C.int) (int, error) {
	if p.busy {
		return 0, fmt.Errorf("poll: already polling this buffer: %w", syscall.EBUSY)
	}
	switch rc := C.wb_wait(p.epfd, w.wakeFD(), C.int(timeoutMs)); {
	case rc < 0:
		return 0, fmt.Errorf("poll: %w", syscall.Errno(-rc))
	case rc == 2:
		return 0, ErrWoken
	case rc == 0:
		return 0, nil
	}
	p.busy = true
	p.cons.fn, p.cons.count, p.cons.stopped = fn, 0, 0
	rc := consume()
	count, stopped := p.cons.count, p.cons.stopped
	p.cons.fn = nil
	p.busy = false
	if stopped < 0 {
		return stopped, nil
	}
	if rc < 0 {
		return count, fmt.Errorf("consume: %w", syscall.Errno(-rc))
	}
	return count, nil
}

// RingBuffer consumes a BPF_MAP_TYPE_RINGBUF map (libbpf's ring_buffer).
type RingBuffer struct {
	poller
	rb *C.struct_ring_buffer
}

// NewRingBuffer creates the consumer of the ring buffer map mapFD.
func NewRingBuffer(mapFD int) (*RingBuffer, error) {
	cons := &consumer{}
	h := cgo.NewHandle(cons)
	rb, err := C.wb_ring_buffer_new(C.int(mapFD), C.uintptr_t(h))
	if rb == nil {
		h.Delete()
		return nil, fmt.Errorf("ring buffer on fd %d: %w", mapFD, errnoOr(err, syscall.EINVAL))
	}
	return &RingBuffer{poller: poller{cons: cons, handle: h, epfd: C.ring_buffer__epoll_fd(rb)}, rb: rb}, nil
}

// Poll waits up to timeoutMs for records, then calls fn for every ready
// record in order. It returns the number of records consumed, or fn's
// negative result if fn stopped it. A woken w makes it return ErrWoken.
func (r *RingBuffer) Poll(w *Waker, timeoutMs int, fn SampleFunc) (int, error) {
	return r.poll(w, timeoutMs, fn, func() C.int { return C.ring_buffer__consume(r.rb) })
}

// Close frees the consumer.
func (r *RingBuffer) Close() {
	if r.rb != nil {
		C.ring_buffer__free(r.rb)
		r.rb = nil
		r.handle.Delete()
	}
}

// PerfBuffer consumes a BPF_MAP_TYPE_PERF_EVENT_ARRAY map (libbpf's
// perf_buffer), one ring per possible CPU.
type PerfBuffer struct {
	poller
	pb *C.struct_perf_buffer
}

// PerfBufferPages is the size of each per-CPU ring, in pages.
const PerfBufferPages = 64

// NewPerfBuffer creates the consumer of the perf event array map mapFD.
func NewPerfBuffer(mapFD int) (*PerfBuffer, error) {
	cons := &consumer{}
	h := cgo.NewHandle(cons)
	pb, err := C.wb_perf_buffer_new(C.int(mapFD), PerfBufferPages, C.uintptr_t(h))
	if pb == nil {
		h.Delete()
		return nil, fmt.Errorf("perf buffer on fd %d: %w", mapFD, errnoOr(err, syscall.EINVAL))
	}
	return &PerfBuffer{poller: poller{cons: cons, handle: h, epfd: C.perf_buffer__epoll_fd(pb)}, pb: pb}, nil
}

// Poll is [RingBuffer.Poll] for perf buffers; records of one CPU arrive in
// order, CPUs one after another.
func (p *PerfBuffer) Poll(w *Waker, timeoutMs int, fn SampleFunc) (int, error) {
	return p.poll(w, timeoutMs, fn, func() C.int { return C.perf_buffer__consume(p.pb) })
}

// Lost is the number of records the kernel dropped because the buffer was
// full, since the buffer was created.
func (p *PerfBuffer) Lost() uint64 { return p.cons.lost }

// Close frees the consumer and its per-CPU rings.
func (p *PerfBuffer) Close() {
	if p.pb != nil {
		C.perf_buffer__free(p.pb)
		p.pb = nil
		p.handle.Delete()
	}
}
