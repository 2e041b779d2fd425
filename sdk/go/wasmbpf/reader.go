package wasmbpf

import (
	"encoding/binary"
	"fmt"
	"math"
	"syscall"
	"time"
)

// DefaultBufferSize is the size of a Reader's buffer: records that arrive
// between two polls and fit in it are moved by one host call.
const DefaultBufferSize = 256 << 10

// Reader reads the records of a ring buffer or perf event array map.
// A Reader is not safe for concurrent use.
type Reader struct {
	obj  *Object
	name string
	fd   int32
	buf  []byte
	// pending holds the records of the last batch that a callback's error
	// kept from being delivered; the next Poll delivers them first, so
	// none is lost.
	pending []byte
	err     error // the callback's error, on the callback-wrapper path
}

// RingBuffer returns a Reader of the BPF_MAP_TYPE_RINGBUF map name.
func (o *Object) RingBuffer(name string) (*Reader, error) {
	return o.reader("ring buffer", name)
}

// PerfBuffer returns a Reader of the BPF_MAP_TYPE_PERF_EVENT_ARRAY map
// name (the runtime reads each CPU's ring).
func (o *Object) PerfBuffer(name string) (*Reader, error) {
	return o.reader("perf buffer", name)
}

func (o *Object) reader(op, name string) (*Reader, error) {
	fd, err := o.mapFD(op, name)
	if err != nil {
		return nil, err
	}
	return &Reader{obj: o, name: name, fd: fd, buf: make([]byte, DefaultBufferSize)}, nil
}

// SetBufferSize replaces the Reader's buffer by one of size bytes
// (at least 8). Longer records are cut to fit.
func (r *Reader) SetBufferSize(size int) error {
	if size < 8 || size > math.MaxInt32 {
		return &Error{Op: "set buffer size", Name: r.name, Err: syscall.EINVAL}
	}
	if len(r.pending) > 0 {
		return &Error{Op: "set buffer size", Name: r.name, Err: syscall.EBUSY}
	}
	r.buf = make([]byte, size)
	return nil
}

// timeoutMs converts a Poll timeout to the host's milliseconds: negative
// waits for data, a positive timeout under 1 ms still waits 1 ms.
func timeoutMs(d time.Duration) int32 {
	switch {
	case d < 0:
		return -1
	case d == 0:
		return 0
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(ms)
}

// Poll waits up to timeout (negative: until records arrive) and calls fn
// for every record that is ready, in order, with the record's bytes. rec
// is valid only until fn returns (copy what you keep). It returns the
// number of records fn was given. An error from fn stops the poll and is
// returned as is; the records after it are delivered by the next Poll.
func (r *Reader) Poll(timeout time.Duration, fn func(rec []byte) error) (int, error) {
	if r.obj.h == 0 {
		return 0, &Error{Op: "poll", Name: r.name, Err: syscall.EBADF}
	}
	if len(r.pending) > 0 {
		return r.deliver(r.pending, fn)
	}
	switch host := r.obj.host.(type) {
	case batchPoller:
		n := host.pollBatch(r.obj.h, r.fd, r.buf, timeoutMs(timeout))
		if n < 0 {
			return 0, hostError(r.obj.host, "poll", r.name, n)
		}
		if int(n) > len(r.buf) {
			return 0, &Error{Op: "poll", Name: r.name, Err: syscall.EPROTO}
		}
		return r.deliver(r.buf[:n], fn)
	case callbackPoller:
		count := 0
		r.err = nil
		n := host.pollCallback(r.obj.h, r.fd, r.buf, timeoutMs(timeout), func(rec []byte) int32 {
			count++
			if err := fn(rec); err != nil {
				r.err = err
				return -1
			}
			return 0
		})
		if r.err != nil {
			return count, r.err
		}
		if n < 0 {
			return count, hostError(r.obj.host, "poll", r.name, n)
		}
		return count, nil
	}
	return 0, &Error{Op: "poll", Name: r.name, Err: syscall.ENOSYS}
}

// deliver calls fn for each record framed in batch, keeping the rest in
// r.pending when fn fails.
func (r *Reader) deliver(batch []byte, fn func(rec []byte) error) (int, error) {
	count := 0
	r.pending = nil
	for len(batch) > 0 {
		rec, rest, err := nextRecord(batch)
		if err != nil {
			return count, &Error{Op: "poll", Name: r.name, Err: err}
		}
		count++
		if err := fn(rec); err != nil {
			r.pending = rest
			return count, err
		}
		batch = rest
	}
	return count, nil
}

// errFraming is what nextRecord reports for a batch the host did not
// frame as documented; it wraps EPROTO.
var errFraming = fmt.Errorf("malformed record framing: %w", syscall.EPROTO)

// nextRecord splits the first record off a batch written by
// wasm_bpf_buffer_poll_batch: u32 size (little endian), size bytes, zero
// padding to a multiple of 4.
func nextRecord(batch []byte) (rec, rest []byte, err error) {
	if len(batch) < 4 {
		return nil, nil, errFraming
	}
	size := binary.LittleEndian.Uint32(batch)
	if uint64(size) > uint64(len(batch)-4) {
		return nil, nil, errFraming
	}
	end := 4 + int(size)
	rec = batch[4:end:end]
	padded := (end + 3) &^ 3
	if padded > len(batch) {
		padded = len(batch) // the host pads; tolerate a last record without
	}
	return rec, batch[padded:], nil
}
