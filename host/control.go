package host

import (
	"errors"
	"sync"
	"time"

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

	// CPU accounting: the epoch deadline callback runs once per epoch tick
	// in which the guest executed Wasm.
	ticks    int64
	maxTicks int64 // 0: no limit
}

func newControl(cpuLimit time.Duration) (*control, error) {
	w, err := libbpf.NewWaker()
	if err != nil {
		return nil, err
	}
	c := &control{waker: w, done: make(chan struct{})}
	c.cond.L = &c.mu
	if cpuLimit > 0 {
		c.maxTicks = int64((cpuLimit + epochTick - 1) / epochTick)
	}
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

// onDeadline is the store's epoch deadline callback.
func (c *control) onDeadline() (uint64, error) {
	c.mu.Lock()
	c.ticks++
	if c.maxTicks > 0 && c.ticks > c.maxTicks {
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
