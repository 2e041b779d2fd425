package wasi

import (
	"encoding/binary"
	"io"
	"sync"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// outputs is the guest's stdout and stderr. wasmtime's fd_write blocks in
// a write(2) that nothing can interrupt (a full pipe nobody reads): the
// guest could not be stopped, and wasmtime created its WASI state at the
// first write, which aborted the process when no fd was left. So fd_write
// is served here: it queues what the guest writes (one queue, so stdout
// and stderr keep their order), and a goroutine writes it to the host's
// writers. A guest blocks only while the queue is full, and a stop ends
// that wait.
type outputs struct {
	w [3]io.Writer // by fd: 1 and 2; nil discards

	mu      sync.Mutex
	queue   []chunk
	queued  int           // bytes in queue
	writing bool          // the writer goroutine runs
	failed  [3]bool       // a write to w[fd] failed: the rest is dropped
	closed  bool          // no more writes: the writer ends once the queue is empty
	work    chan struct{} // to the writer: the queue has data, or closed
	space   chan struct{} // from the writer: it wrote a chunk
	done    chan struct{} // the writer ended
}

type chunk struct {
	fd int
	b  []byte
}

// queueLimit is how much output may wait for a slow writer before the
// guest's writes block: a pipe's worth.
const queueLimit = 64 << 10

// stalled is how long, once the guest is stopped, its queued output may
// wait for a writer that takes none of it.
const stalled = 20 * time.Millisecond

func newOutputs(stdout, stderr io.Writer) *outputs {
	o := &outputs{work: make(chan struct{}, 1), space: make(chan struct{}, 1), done: make(chan struct{})}
	o.w[1], o.w[2] = stdout, stderr
	if stdout == nil && stderr == nil {
		close(o.done)
	} else {
		go o.write()
	}
	return o
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// write is the writer goroutine: it writes the queue out in order, runs of
// chunks for the same fd in one call.
func (o *outputs) write() {
	defer close(o.done)
	for {
		o.mu.Lock()
		for len(o.queue) == 0 {
			if o.closed {
				o.mu.Unlock()
				return
			}
			o.mu.Unlock()
			<-o.work
			o.mu.Lock()
		}
		fd := o.queue[0].fd
		var buf []byte
		n := 0
		for n < len(o.queue) && o.queue[n].fd == fd {
			buf = append(buf, o.queue[n].b...)
			n++
		}
		o.queue = o.queue[n:]
		o.mu.Unlock()

		_, err := o.w[fd].Write(buf)

		o.mu.Lock()
		o.queued -= len(buf)
		if err != nil {
			o.failed[fd] = true
		}
		o.mu.Unlock()
		signal(o.space)
	}
}

// put queues b for fd, waiting for room while the queue is full; it
// returns how much it queued, and ErrInterrupted if interrupt closed
// first, or false if fd's writer has failed.
func (o *outputs) put(fd int, b []byte, interrupt <-chan struct{}) (int, bool, error) {
	n := 0
	for len(b) > 0 {
		o.mu.Lock()
		if o.failed[fd] {
			o.mu.Unlock()
			return n, false, nil
		}
		room := min(queueLimit-o.queued, len(b))
		if room > 0 {
			o.queue = append(o.queue, chunk{fd, append([]byte(nil), b[:room]...)})
			o.queued += room
		}
		o.mu.Unlock()
		if room == 0 {
			select {
			case <-o.space:
			case <-interrupt:
				return n, true, ErrInterrupted
			}
			continue
		}
		signal(o.work)
		b, n = b[room:], n+room
	}
	return n, true, nil
}

// close ends the output and waits until the writer has written the queue,
// or, once interrupt is closed (the guest was stopped), until it takes
// nothing for a while: a writer that blocks for good must not keep a
// stopped guest from ending.
func (o *outputs) close(interrupt <-chan struct{}) {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	signal(o.work)
	select {
	case <-o.done:
		return
	case <-interrupt:
	}
	t := time.NewTimer(stalled)
	defer t.Stop()
	for {
		select {
		case <-o.done:
			return
		case <-o.space:
			t.Reset(stalled)
		case <-t.C:
			return
		}
	}
}

// errnoPipe is WASI's EPIPE: the host's writer for the stream failed.
const errnoPipe = 64

// fdWrite is fd_write(fd, iovs, iovs_len, nwritten). Only stdout and
// stderr are writable.
func (b *blocking) fdWrite(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	fd, iovs, iovsLen, nwrittenPtr := args[0].I32(), uint32(args[1].I32()), uint32(args[2].I32()), uint32(args[3].I32())
	if fd != 1 && fd != 2 {
		return ret(errnoBadf)
	}
	bufs, nwritten, errno := iovecs(memory(c), iovs, iovsLen, nwrittenPtr)
	if errno != errnoSuccess {
		return ret(errno)
	}
	out := b.streams.out
	total := 0
	for _, buf := range bufs {
		if out.w[fd] == nil {
			total += len(buf)
			continue
		}
		n, ok, err := out.put(int(fd), buf, b.interrupt)
		total += n
		if err != nil {
			return nil, wasmtime.NewTrap(err.Error())
		}
		if !ok {
			if total > 0 {
				break
			}
			return ret(errnoPipe)
		}
	}
	binary.LittleEndian.PutUint32(nwritten, uint32(total))
	return ret(errnoSuccess)
}
