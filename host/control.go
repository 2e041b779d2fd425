package host

import (
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// Errors that end a guest from outside; Wait's error matches them with
// errors.Is.
var (
	ErrTerminated = errors.New("guest terminated")
	ErrCPULimit   = errors.New("guest exceeded its CPU limit")
)

type runState int

const (
	running runState = iota
	paused
	stopped
)

// control is how other goroutines pause, resume and stop a guest. The
// guest's own goroutine meets it at checkpoints: the epoch deadline
// callback (Wasm code), each record a poll delivers, and a poll's wait
// (which the waker interrupts).
type control struct {
	mu     sync.Mutex
	cond   sync.Cond
	state  runState
	cause  error         // why the guest was stopped
	done   chan struct{} // closed when stopped: ends blocking WASI calls
	closed bool          // the guest has ended and the waker is gone

	waker *libbpf.Waker

	// CPU accounting. The guest runs on one locked OS thread (run), so that
	// thread's CPU clock is the guest's own time: its Wasm code and the host
	// calls it makes there. Counting epoch ticks instead charged a whole
	// tick to every wake-up: a guest polling every 100 ms was "using" 10%
	// of a CPU while it slept.
	cpuStart time.Duration // the thread's CPU clock when the guest began
	cpu      time.Duration // CPU time used, as of the last epoch deadline
	cpuLimit time.Duration // 0: no limit
}

func newControl(cpuLimit time.Duration) (*control, error) {
	w, err := libbpf.NewWaker()
	if err != nil {
		return nil, err
	}
	c := &control{waker: w, done: make(chan struct{}), cpuLimit: cpuLimit}
	c.cond.L = &c.mu
	return c, nil
}

func (c *control) pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == running && !c.closed {
		c.state = paused
		c.waker.Wake()
	}
}

func (c *control) resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == paused && !c.closed {
		c.state = running
		c.waker.Reset()
		c.cond.Broadcast()
	}
}

func (c *control) stop(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked(cause)
}

func (c *control) stopLocked(cause error) {
	if c.state != stopped && !c.closed {
		c.state, c.cause = stopped, cause
		close(c.done)
		c.waker.Wake()
		c.cond.Broadcast()
	}
}

// stopCause is why the guest was stopped, or nil.
func (c *control) stopCause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// checkpoint blocks while the guest is paused and returns the cause once
// it is stopped.
func (c *control) checkpoint() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.state == paused {
		c.cond.Wait()
	}
	return c.cause
}

// startClock starts the CPU accounting; it is called on the guest's locked
// thread before any of its code runs.
func (c *control) startClock() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cpuStart = threadCPU()
}

// cpuTime is the CPU time the guest has used, as of its last epoch tick.
func (c *control) cpuTime() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cpu
}

// threadCPU reads the calling thread's CPU clock.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0 // cannot fail on Linux for the calling thread
	}
	return time.Duration(ts.Nano())
}

// onDeadline is the store's epoch deadline callback. Wasmtime calls it on
// the guest's thread, once per epoch tick in which the guest ran Wasm.
func (c *control) onDeadline() (uint64, error) {
	c.mu.Lock()
	c.cpu = threadCPU() - c.cpuStart
	if c.cpuLimit > 0 && c.cpu > c.cpuLimit {
		c.stopLocked(ErrCPULimit)
	}
	c.mu.Unlock()
	if err := c.checkpoint(); err != nil {
		return 0, err
	}
	return 1, nil
}

// close releases the waker once the guest has ended; Pause, Resume and
// Terminate are no-ops from then on (an embedder may call them late).
func (c *control) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.waker.Close()
}
