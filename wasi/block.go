package wasi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"golang.org/x/sys/unix"

	"github.com/wasm-bpf/wasm-bpf/internal/guestmem"
	"github.com/wasm-bpf/wasm-bpf/wasi/internal/clock"
)

// wasmtime's WASI blocks in host code that epoch interruption cannot
// reach: a guest sleeping (poll_oneoff), reading stdin or writing to a full
// pipe could not be stopped. poll_oneoff, fd_read and fd_write are served
// here instead, waiting on the guest's interrupt channel as well, with
// clock_time_get so that both agree on the monotonic clock, the kernel's.
// The guest has no other readable or writable fds (no preopened
// directories, no sockets), so these are complete; wasmtime's functions
// cannot be called from here as fallbacks (they need a Wasm caller).

// WASI preview1 errno values.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoFault   = 21
	errnoInval   = 28
)

// ErrInterrupted is the trap of a blocking WASI call that the host
// interrupted because the guest is being stopped.
var ErrInterrupted = errors.New("blocking WASI call interrupted: guest stopped")

const moduleWASI = "wasi_snapshot_preview1"

// Define replaces wasmtime's poll_oneoff, fd_read, fd_write and
// clock_time_get in linker (which must already hold wasmtime's WASI) with
// versions whose waits end when interrupt is closed.
func (s *Streams) Define(linker *wasmtime.Linker, store *wasmtime.Store, interrupt <-chan struct{}) error {
	i32 := wasmtime.NewValType(wasmtime.KindI32)
	s.interrupt = interrupt
	b := &blocking{streams: s, interrupt: interrupt, mono0: monotonic(), t0: time.Now()}
	defs := []struct {
		name   string
		params []*wasmtime.ValType
		fn     func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap)
	}{
		{"poll_oneoff", []*wasmtime.ValType{i32, i32, i32, i32}, b.pollOneoff},
		{"fd_read", []*wasmtime.ValType{i32, i32, i32, i32}, b.fdRead},
		{"fd_write", []*wasmtime.ValType{i32, i32, i32, i32}, b.fdWrite},
	}
	linker.AllowShadowing(true)
	defer linker.AllowShadowing(false)
	for _, d := range defs {
		ty := wasmtime.NewFuncType(d.params, []*wasmtime.ValType{i32})
		if err := linker.FuncNew(moduleWASI, d.name, ty, d.fn); err != nil {
			return fmt.Errorf("define %s: %w", d.name, err)
		}
	}
	// Served in C, without Go on the path: guests read the clock per event.
	if err := linker.Define(store, moduleWASI, "clock_time_get", clock.Func(store)); err != nil {
		return fmt.Errorf("define clock_time_get: %w", err)
	}
	return nil
}

type blocking struct {
	streams   *Streams
	interrupt <-chan struct{}
	// The guest's monotonic clock is read as mono0 + time.Since(t0): Go's
	// monotonic time is CLOCK_MONOTONIC read through the vDSO, where a
	// clock_gettime syscall costs ten times more.
	mono0 uint64
	t0    time.Time
}

func (b *blocking) monotonic() uint64 { return b.mono0 + uint64(time.Since(b.t0)) }

// monotonic is the host's CLOCK_MONOTONIC, the clock of the kernel's
// bpf_ktime_get_ns: a guest can compare the timestamps its BPF programs
// record with its own clock.
func monotonic() uint64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

func ret(errno int32) ([]wasmtime.Val, *wasmtime.Trap) {
	return []wasmtime.Val{wasmtime.ValI32(errno)}, nil
}

func memory(c *wasmtime.Caller) guestmem.Memory {
	if e := c.GetExport("memory"); e != nil && e.Memory() != nil {
		return guestmem.Memory(e.Memory().UnsafeData(c))
	}
	return nil
}

// WASI clock ids.
const (
	clockRealtime  = 0
	clockMonotonic = 1
)

// Sizes of preview1's subscription and event records, and their tags.
const (
	subSize      = 48
	eventSize    = 32
	eventClock   = 0
	eventFDRead  = 1
	eventFDWrite = 2
	flagAbstime  = 1
	flagHangup   = 1
)

// pollOneoff is poll_oneoff(in, out, nsubscriptions, nevents).
func (b *blocking) pollOneoff(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	in, out, n, neventsPtr := uint32(args[0].I32()), uint32(args[1].I32()), uint32(args[2].I32()), uint32(args[3].I32())
	if n == 0 || n > 1<<16 {
		return ret(errnoInval)
	}
	// Guest ranges are taken as slices, whose bounds are ints: with a
	// 4 GiB memory, the end of a range can be 1<<32, which a uint32 wraps.
	mem := memory(c)
	subs, ok1 := mem.Slice(in, n*subSize)
	events, ok2 := mem.Slice(out, n*eventSize)
	nevents, ok3 := mem.Slice(neventsPtr, 4)
	if !ok1 || !ok2 || !ok3 {
		return ret(errnoFault)
	}
	// The subscriptions are copied: the guest runs no code while we wait,
	// but the events are written over memory it may share with them.
	subs = append([]byte(nil), subs...)
	now := time.Now()
	var earliest time.Time
	deadlines := make([]time.Time, n)
	waitStdin := false
	for i := range n {
		sub := subs[i*subSize : (i+1)*subSize]
		switch sub[8] {
		case eventClock:
			id := binary.LittleEndian.Uint32(sub[16:])
			timeout := time.Duration(min(binary.LittleEndian.Uint64(sub[24:]), 1<<62))
			abs := binary.LittleEndian.Uint16(sub[40:])&flagAbstime != 0
			switch {
			case id != clockRealtime && id != clockMonotonic:
				return ret(errnoInval)
			case !abs:
				deadlines[i] = now.Add(timeout)
			case id == clockRealtime:
				deadlines[i] = time.Unix(0, int64(timeout))
			default:
				deadlines[i] = now.Add(timeout - time.Duration(b.monotonic()))
			}
			if earliest.IsZero() || deadlines[i].Before(earliest) {
				earliest = deadlines[i]
			}
		case eventFDRead:
			if binary.LittleEndian.Uint32(sub[16:]) == 0 && b.streams.stdin != nil {
				waitStdin = true
			}
		}
	}
	var timer <-chan time.Time
	if !earliest.IsZero() {
		t := time.NewTimer(time.Until(earliest))
		defer t.Stop()
		timer = t.C
	}
	for {
		if n := b.events(events, subs, deadlines); n > 0 {
			binary.LittleEndian.PutUint32(nevents, n)
			return ret(errnoSuccess)
		}
		var stdin <-chan []byte
		if waitStdin {
			stdin = b.streams.stdin.source()
		}
		select {
		case <-b.interrupt:
			return nil, wasmtime.NewTrap(ErrInterrupted.Error())
		case <-timer:
		case chunk, ok := <-stdin:
			b.streams.stdin.push(chunk, ok)
		}
	}
}

// events writes an event for every subscription that is ready now to out,
// and returns how many.
func (b *blocking) events(out, subs []byte, deadlines []time.Time) uint32 {
	now := time.Now()
	var n uint32
	for i := range uint32(len(deadlines)) {
		sub := subs[i*subSize : (i+1)*subSize]
		var errno uint16
		var nbytes uint64
		var flags uint16
		switch tag, fd := sub[8], binary.LittleEndian.Uint32(sub[16:]); {
		case tag == eventClock:
			if deadlines[i].After(now) {
				continue
			}
		case tag == eventFDRead && fd == 0:
			if b.streams.stdin == nil {
				flags = flagHangup // empty stdin: at end of file at once
			} else if avail, eof := b.streams.stdin.available(); avail > 0 {
				nbytes = uint64(avail)
			} else if eof {
				flags = flagHangup
			} else {
				continue
			}
		case tag == eventFDWrite && (fd == 1 || fd == 2):
			// Writes to stdout and stderr are always accepted.
		default:
			errno = errnoBadf
		}
		ev := out[n*eventSize : (n+1)*eventSize]
		clear(ev)
		copy(ev[0:8], sub[0:8]) // userdata
		binary.LittleEndian.PutUint16(ev[8:], errno)
		ev[10] = sub[8]
		binary.LittleEndian.PutUint64(ev[16:], nbytes)
		binary.LittleEndian.PutUint16(ev[24:], flags)
		n++
	}
	return n
}

// fdRead is fd_read(fd, iovs, iovs_len, nread). Only stdin is readable.
func (b *blocking) fdRead(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	fd, iovs, iovsLen, nreadPtr := args[0].I32(), uint32(args[1].I32()), uint32(args[2].I32()), uint32(args[3].I32())
	if fd != 0 {
		return ret(errnoBadf)
	}
	bufs, nread, errno := iovecs(memory(c), iovs, iovsLen, nreadPtr)
	if errno != errnoSuccess {
		return ret(errno)
	}
	n := 0
	if b.streams.stdin != nil {
		var err error
		if n, err = b.streams.stdin.read(bufs, b.interrupt); errors.Is(err, ErrInterrupted) {
			return nil, wasmtime.NewTrap(err.Error())
		}
	}
	binary.LittleEndian.PutUint32(nread, uint32(n))
	return ret(errnoSuccess)
}

// iovecs checks the arguments of fd_read and fd_write: the buffers of the
// iovec array at iovs (n of them), and the 4 bytes at countPtr where the
// call stores how much it read or wrote.
func iovecs(mem guestmem.Memory, iovs, n, countPtr uint32) (bufs [][]byte, count []byte, errno int32) {
	if n > 1<<16 {
		return nil, nil, errnoFault
	}
	vecs, ok := mem.Slice(iovs, n*8)
	if !ok {
		return nil, nil, errnoFault
	}
	if count, ok = mem.Slice(countPtr, 4); !ok {
		return nil, nil, errnoFault
	}
	bufs = make([][]byte, n)
	for i := range n {
		if bufs[i], ok = mem.Slice(binary.LittleEndian.Uint32(vecs[i*8:]), binary.LittleEndian.Uint32(vecs[i*8+4:])); !ok {
			return nil, nil, errnoFault
		}
	}
	return bufs, count, errnoSuccess
}

// stdinPump reads the host's stdin in its own goroutine, so a guest read
// can wait for data and for an interrupt at once. A reader that never
// returns keeps the goroutine blocked in Read after the guest has ended;
// anything it still reads is dropped.
type stdinPump struct {
	r       io.Reader
	start   sync.Once   // the pump reads ahead only once the guest reads
	chunks  chan []byte // closed at EOF or error
	stop    chan struct{}
	pending []byte
	eof     bool
}

func newStdinPump(r io.Reader) *stdinPump {
	return &stdinPump{r: r, chunks: make(chan []byte, 4), stop: make(chan struct{})}
}

func (p *stdinPump) run() {
	go func() {
		defer close(p.chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := p.r.Read(buf)
			if n > 0 {
				select {
				case p.chunks <- buf[:n]:
				case <-p.stop:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
}

// source is the channel to wait on for more input (nil once at EOF).
func (p *stdinPump) source() <-chan []byte {
	p.start.Do(p.run)
	if p.eof {
		return nil
	}
	return p.chunks
}

func (p *stdinPump) push(chunk []byte, ok bool) {
	if !ok {
		p.eof = true
		return
	}
	p.pending = append(p.pending, chunk...)
}

// available reports, without blocking, how many bytes can be read and
// whether the input has ended.
func (p *stdinPump) available() (int, bool) {
	if len(p.pending) == 0 {
		select {
		case chunk, ok := <-p.source():
			p.push(chunk, ok)
		default:
		}
	}
	return len(p.pending), p.eof && len(p.pending) == 0
}

// read fills bufs with what is pending, waiting for one chunk if nothing
// is; 0 at the end of input.
func (p *stdinPump) read(bufs [][]byte, interrupt <-chan struct{}) (int, error) {
	if len(p.pending) == 0 && !p.eof {
		select {
		case chunk, ok := <-p.source():
			p.push(chunk, ok)
		case <-interrupt:
			return 0, ErrInterrupted
		}
	}
	n := 0
	for _, b := range bufs {
		c := copy(b, p.pending)
		p.pending = p.pending[c:]
		n += c
		if len(p.pending) == 0 {
			break
		}
	}
	return n, nil
}
