package libbpf

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// ErrWoken is returned by a poll that a [Waker] interrupted.
var ErrWoken = errors.New("poll interrupted")

// errBusy is a poll of a buffer from inside its own callback: libbpf's
// consumers are not re-entrant.
var errBusy = fmt.Errorf("poll: already polling this buffer: %w", syscall.EBUSY)

// SampleFunc receives one record. data aliases the kernel's buffer and is
// valid only during the call. A negative result stops the poll and becomes
// its result, as in libbpf.
type SampleFunc func(data []byte) int

// consumer is what the C trampolines reach through a cgo.Handle: the Go
// callback of the Go poll in progress, and what a perf buffer reported lost.
type consumer struct {
	fn   SampleFunc
	lost uint64
}

//export wbGoSample
func wbGoSample(h C.uintptr_t, data unsafe.Pointer, size C.uint32_t) C.int {
	// data points into libbpf's mmap'ed ring: valid for this call only.
	return C.int(cgo.Handle(h).Value().(*consumer).fn(unsafe.Slice((*byte)(data), int(size))))
}

//export wbGoPerfLost
func wbGoPerfLost(h C.uintptr_t, cpu C.int, lost C.uint64_t) {
	cgo.Handle(h).Value().(*consumer).lost += uint64(lost)
}

// Waker interrupts polls from another goroutine: once woken, every poll
// that is given it returns [ErrWoken] at once, until Reset. A poll that is
// delivering records stops before the next one, which waits for the next
// poll.
type Waker struct {
	fd     int
	raised *C.int // C memory: read by the C callbacks between records
}

// NewWaker returns a Waker backed by an eventfd.
func NewWaker() (*Waker, error) {
	fd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		return nil, fmt.Errorf("eventfd: %w", errno)
	}
	raised := (*C.int)(C.calloc(1, C.sizeof_int))
	return &Waker{fd: int(fd), raised: raised}, nil
}

// Wake interrupts current and future polls given this Waker.
func (w *Waker) Wake() {
	atomic.StoreInt32((*int32)(unsafe.Pointer(w.raised)), 1)
	one := [8]byte{1}
	syscall.Write(w.fd, one[:])
}

// Reset makes polls wait again.
func (w *Waker) Reset() {
	atomic.StoreInt32((*int32)(unsafe.Pointer(w.raised)), 0)
	var buf [8]byte
	syscall.Read(w.fd, buf[:]) // non-blocking: EAGAIN when not woken
}

// FD is the eventfd, for C code that waits on it (shim.c's polls).
func (w *Waker) FD() int { return w.fd }

// Flag is the int that is non-zero while woken, for C code that checks it
// between records (a struct wb_classic's raised); valid until Close.
func (w *Waker) Flag() unsafe.Pointer { return unsafe.Pointer(w.raised) }

// Close releases the eventfd.
func (w *Waker) Close() {
	syscall.Close(w.fd)
	C.free(unsafe.Pointer(w.raised))
}

func (w *Waker) wakeFD() C.int {
	if w == nil {
		return -1
	}
	return C.int(w.fd)
}

func (w *Waker) flag() *C.int {
	if w == nil {
		return nil
	}
	return w.raised
}

// poller is what ring and perf buffers share: a libbpf manager with an
// epoll fd, and the consumer its C callbacks reach.
type poller struct {
	cons   *consumer
	handle cgo.Handle
	c      *C.struct_wb_consumer // C memory: libbpf keeps the pointer
	t      *C.struct_wb_target   // C memory: the host's C fast path keeps it
}

func newPoller() poller {
	cons := &consumer{}
	h := cgo.NewHandle(cons)
	c := (*C.struct_wb_consumer)(C.calloc(1, C.sizeof_struct_wb_consumer))
	c.handle = C.uintptr_t(h)
	t := (*C.struct_wb_target)(C.calloc(1, C.sizeof_struct_wb_target))
	t.c = c
	t.wake_fd = -1
	return poller{cons: cons, handle: h, c: c, t: t}
}

func (p *poller) free() {
	C.wb_consumer_free(p.c)
	C.free(unsafe.Pointer(p.t))
	p.handle.Delete()
}

// Target is the buffer as C code elsewhere sees it: a struct wb_target
// (shim.h) for wb_poll_batch and wb_poll_classic, valid until Close.
func (p *poller) Target() unsafe.Pointer { return unsafe.Pointer(p.t) }

// poll waits up to timeoutMs (negative: forever) for records, then hands
// every ready record to fn.
func (p *poller) poll(w *Waker, timeoutMs int, fn SampleFunc) (int, error) {
	// A poll from inside this buffer's own callback must leave the outer
	// poll's callback in place: it delivers the records still pending.
	// (wb_poll_classic refuses it too, but fn is set here, before.)
	if p.c.busy != 0 {
		return 0, errBusy
	}
	p.cons.fn = fn
	defer func() { p.cons.fn = nil }()
	var cp C.struct_wb_classic // read by C during the call only
	cp.fn = (*[0]byte)(C.wb_go_sample)
	cp.ctx = unsafe.Pointer(p.c)
	cp.raised = w.flag()
	rc := C.wb_poll_classic(p.t, w.wakeFD(), C.int(timeoutMs), &cp)
	count := int(cp.count)
	switch {
	case rc == C.WB_WOKEN:
		return 0, ErrWoken
	case cp.held != 0:
		return count, ErrWoken
	case cp.stopped < 0:
		return int(cp.stopped), nil
	case rc < 0:
		return count, fmt.Errorf("poll: %w", syscall.Errno(-rc))
	}
	return count, nil
}

// Busy reports whether a poll of this buffer is delivering records (and
// so may be running the callback that asks).
func (p *poller) Busy() bool { return p.c.busy != 0 }

// PollBatch waits as Poll does (not at all if a record is held over from
// the last batch), then copies every ready record that fits into dst in
// the batch format: u32 size, the bytes, zero padding to a multiple of 4.
// A record that does not fit is held for the next call; one that can never
// fit is cut. dst may be memory Go does not manage; it needs 8 bytes at
// least. It returns the number of bytes written. The whole poll is one
// call into C: per batch, not per record, is the cost that matters here.
func (p *poller) PollBatch(w *Waker, timeoutMs int, dst []byte) (int, error) {
	if len(dst) < 8 || len(dst) > 1<<31 {
		return 0, fmt.Errorf("poll: batch buffer of %d bytes: %w", len(dst), syscall.EINVAL)
	}
	// dst is written by C during this call only.
	rc := C.wb_poll_batch(p.t, w.wakeFD(), C.int(timeoutMs), (*C.char)(unsafe.Pointer(&dst[0])), C.uint32_t(len(dst)))
	switch {
	case rc == C.WB_WOKEN:
		return 0, ErrWoken
	case rc < 0:
		return 0, fmt.Errorf("poll: %w", syscall.Errno(-rc))
	}
	return int(rc), nil
}

// RingBuffer consumes a BPF_MAP_TYPE_RINGBUF map (libbpf's ring_buffer).
type RingBuffer struct {
	poller
	rb *C.struct_ring_buffer
}

// NewRingBuffer creates the consumer of the ring buffer map mapFD.
func NewRingBuffer(mapFD int) (*RingBuffer, error) {
	p := newPoller()
	var rb *C.struct_ring_buffer
	var err error
	log := withLog(func() { rb, err = C.wb_ring_buffer_new(C.int(mapFD), p.c) })
	if rb == nil {
		p.free()
		return nil, &Error{Op: fmt.Sprintf("ring buffer on fd %d", mapFD), Err: errnoOr(err, syscall.EINVAL), Log: log}
	}
	p.t.rb, p.t.epfd = rb, C.ring_buffer__epoll_fd(rb)
	return &RingBuffer{poller: p, rb: rb}, nil
}

// Poll waits up to timeoutMs for records, then calls fn for every ready
// record in order. It returns the number of records consumed, or fn's
// negative result if fn stopped it. A woken w makes it return ErrWoken.
func (r *RingBuffer) Poll(w *Waker, timeoutMs int, fn SampleFunc) (int, error) {
	return r.poll(w, timeoutMs, fn)
}

// Close frees the consumer.
func (r *RingBuffer) Close() {
	if r.rb != nil {
		C.ring_buffer__free(r.rb)
		r.rb = nil
		r.free()
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
	p := newPoller()
	var pb *C.struct_perf_buffer
	var err error
	log := withLog(func() { pb, err = C.wb_perf_buffer_new(C.int(mapFD), PerfBufferPages, p.c) })
	if pb == nil {
		p.free()
		return nil, &Error{Op: fmt.Sprintf("perf buffer on fd %d", mapFD), Err: errnoOr(err, syscall.EINVAL), Log: log}
	}
	p.t.pb, p.t.epfd = pb, C.perf_buffer__epoll_fd(pb)
	return &PerfBuffer{poller: p, pb: pb}, nil
}

// Poll is [RingBuffer.Poll] for perf buffers; records of one CPU arrive in
// order, CPUs one after another.
func (p *PerfBuffer) Poll(w *Waker, timeoutMs int, fn SampleFunc) (int, error) {
	return p.poll(w, timeoutMs, fn)
}

// Lost is the number of records the kernel dropped because the buffer was
// full, since the buffer was created.
func (p *PerfBuffer) Lost() uint64 { return p.cons.lost }

// Close frees the consumer and its per-CPU rings.
func (p *PerfBuffer) Close() {
	if p.pb != nil {
		C.perf_buffer__free(p.pb)
		p.pb = nil
		p.free()
	}
}
