package host

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/internal/wasmtimex"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// tableExport is the function table a C guest exports with
// -Wl,--export-table; sample_func indexes it.
const tableExport = "__indirect_function_table"

// bufferPoll is wasm_bpf_buffer_poll(handle, fd, sample_func, ctx, data,
// max_size, timeout_ms): each record goes to the table function sample_func.
func (g *guest) bufferPoll(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	const fn = "wasm_bpf_buffer_poll"
	p, errno := g.pollArgs(c, fn, uint64(args[0].I64()), args[1].I32(), uint32(args[4].I32()), uint32(args[5].I32()), args[6].I32())
	if errno != 0 {
		return retI32(errno)
	}
	cb, errno := g.tableFunc(c, fn, uint32(args[2].I32()))
	if errno != 0 {
		return retI32(errno)
	}
	return g.poll(c, p, cb, args[3].I32())
}

// wrapperPoll is the callback-wrapper module's wasm_bpf_buffer_poll(handle,
// fd, ctx, data, max_size, timeout_ms), for guests that cannot hand out a
// table index: each record goes to the guest's exported callback.
func (g *guest) wrapperPoll(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	fn := g.cfg.WrapperModule + ".wasm_bpf_buffer_poll"
	p, errno := g.pollArgs(c, fn, uint64(args[0].I64()), args[1].I32(), uint32(args[3].I32()), uint32(args[4].I32()), args[5].I32())
	if errno != 0 {
		return retI32(errno)
	}
	if g.callback == nil {
		// Exports never change: one look-up and type check serve every poll.
		if e := c.GetExport(g.cfg.CallbackExport); e != nil {
			if f := e.Func(); f != nil && isSampleFunc(c, f) {
				g.callback = f
			}
		}
	}
	if g.callback == nil {
		return retI32(g.refuse(fn, syscall.EINVAL, "guest exports no callback (ctx, data, size i32) -> i32 under this name", "export", g.cfg.CallbackExport))
	}
	return g.poll(c, p, g.callback, args[2].I32())
}

// batchPoll is wasm_bpf_ext.wasm_bpf_buffer_poll_batch(handle, fd, buf,
// buf_size, timeout_ms): ready records are copied into buf, framed, with
// no call into the guest (docs/abi.md). host/internal/cabi serves the
// common case in C; it calls this for the rest: a first poll (which
// creates the consumer and hands it to the C path), refusals, and waits
// that a pause or stop interrupted. A non-nil error traps the guest.
func (g *guest) batchPoll(handle uint64, fd, buf, size, timeout int32) (int32, error) {
	const fn = "wasm_bpf_buffer_poll_batch"
	p, errno := g.pollArgs(g.store, fn, handle, fd, uint32(buf), uint32(size), timeout)
	if errno != 0 {
		return errno, nil
	}
	if p.maxSize < 8 {
		return g.refuse(fn, syscall.EINVAL, "batch buffer smaller than 8 bytes", "buf_size", int32(p.maxSize)), nil
	}
	return g.waitLoop(p.timeoutMs, func(timeout int) (int, error) {
		if err := g.ctl.checkpoint(); err != nil {
			g.end(err)
			return 0, err
		}
		// Checked by pollArgs; the guest ran no code since.
		dst, _ := g.memory(g.store).Slice(p.data, p.maxSize)
		return p.buf.PollBatch(g.ctl.waker, timeout, dst)
	})
}

type pollReq struct {
	obj       *object
	buf       buffer
	data      uint32
	maxSize   uint32
	timeoutMs int
}

// pollArgs checks the arguments both polls share and finds (or creates)
// the buffer consumer for fd.
func (g *guest) pollArgs(s wasmtime.Storelike, fn string, handle uint64, fd int32, data, maxSize uint32, timeout int32) (pollReq, int32) {
	o, ok := g.objects[handle]
	if !ok {
		return pollReq{}, g.refuse(fn, syscall.EINVAL, "unknown handle", "handle", handle)
	}
	m, ok := o.maps[fd]
	if !ok || m.typ != libbpf.MapTypeRingBuf && m.typ != libbpf.MapTypePerfEventArray {
		return pollReq{}, g.refuse(fn, syscall.EINVAL, "fd is not a ring or perf buffer map of this handle", "fd", fd)
	}
	p := pollReq{obj: o, data: data, maxSize: maxSize, timeoutMs: int(timeout)}
	if _, ok := g.memory(s).Slice(p.data, p.maxSize); !ok {
		return pollReq{}, g.refuse(fn, syscall.EFAULT, "data range outside guest memory", "data", p.data, "max_size", int32(p.maxSize))
	}
	b, err := g.buffer(o, fd, m)
	if err != nil {
		g.log.Debug(fn+": cannot consume map", "map", m.name, "err", err)
		return pollReq{}, errnoOf(err)
	}
	p.buf = b
	return p, 0
}

// buffer returns the consumer of map fd of o, creating it on first use
// and handing it to the C path of the batched poll.
func (g *guest) buffer(o *object, fd int32, m *mapRef) (buffer, error) {
	if b, ok := o.buffers[fd]; ok {
		return b, nil
	}
	var b buffer
	var err error
	if m.typ == libbpf.MapTypeRingBuf {
		b, err = libbpf.NewRingBuffer(int(fd))
	} else {
		b, err = libbpf.NewPerfBuffer(int(fd))
	}
	if err != nil {
		return nil, fmt.Errorf("map %q: %w", m.name, err)
	}
	b.CountInto(g.stats.pollCounters())
	if err := g.maptab.SetBuffer(fd, o.handle, b.Target()); err != nil {
		b.Close()
		return nil, err
	}
	o.buffers[fd] = b
	return b, nil
}

// tableFunc resolves a sample_func table index to a function of the record
// callback's signature.
func (g *guest) tableFunc(c *wasmtime.Caller, fn string, idx uint32) (*wasmtime.Func, int32) {
	if g.table == nil {
		if e := c.GetExport(tableExport); e != nil {
			// A table of anything but funcrefs is no function table: its
			// values would make wasmtime-go's Val.Funcref panic.
			if t := e.Table(); t != nil && t.Type(c).Element().Kind() == wasmtime.KindFuncref {
				g.table = t
			}
		}
		if g.table == nil {
			return nil, g.refuse(fn, syscall.EINVAL, "guest exports no function table "+tableExport+" (link with -Wl,--export-table)")
		}
	}
	v, err := g.table.Get(c, uint64(idx))
	if err != nil {
		return nil, g.refuse(fn, syscall.EINVAL, "sample_func index out of range", "index", idx)
	}
	f := v.Funcref()
	// The table may change (table.set), so the entry is read every time,
	// but a function already checked needs no second type check.
	if f != nil && g.sampleFunc != nil && wasmtimex.SameFunc(f, g.sampleFunc) {
		return f, 0
	}
	if f == nil || !isSampleFunc(c, f) {
		return nil, g.refuse(fn, syscall.EINVAL, "sample_func is not a function (ctx, data, size i32) -> i32", "index", idx)
	}
	g.sampleFunc = f
	return f, 0
}

func isSampleFunc(c *wasmtime.Caller, f *wasmtime.Func) bool {
	ty := f.Type(c)
	params, results := ty.Params(), ty.Results()
	if len(params) != 3 || len(results) != 1 || results[0].Kind() != wasmtime.KindI32 {
		return false
	}
	for _, p := range params {
		if p.Kind() != wasmtime.KindI32 {
			return false
		}
	}
	return true
}

// poll waits for records and calls cb(ctx, data, n) for each, in order.
// Records are copied and cb is called from C (wasmtimex.Deliverer): no Go
// runs per record. A pause or stop between records ends the poll's
// consume before the next record, which the next consume delivers first.
func (g *guest) poll(c *wasmtime.Caller, p pollReq, cb *wasmtime.Func, cbCtx int32) ([]wasmtime.Val, *wasmtime.Trap) {
	o := p.obj
	o.polls++
	defer g.pollDone(o)
	// pollArgs found the memory (g.mem) when it checked the data range.
	d := wasmtimex.NewDeliverer(c, g.mem, cb, cbCtx, p.data, p.maxSize)
	defer d.Free()
	delivered := 0 // by consumes that a pause interrupted
	return trapOr(g.waitLoop(p.timeoutMs, func(timeout int) (int, error) {
		n, err := p.buf.PollDirect(g.ctl.waker, timeout, d.Fn(), d.Ctx())
		if derr := d.Err(); derr != nil {
			g.end(derr)
			return 0, derr
		}
		switch {
		case errors.Is(err, libbpf.ErrWoken):
			delivered += n
		case err == nil && n >= 0:
			n += delivered
		}
		return n, err
	}))
}

// trapOr is a host function's result: rc, or a trap that ends the guest.
func trapOr(rc int32, err error) ([]wasmtime.Val, *wasmtime.Trap) {
	if err != nil {
		return nil, wasmtime.NewTrap(err.Error())
	}
	return retI32(rc)
}

// pollDone ends a poll of o, and finishes closing o if the guest closed it
// from a callback meanwhile.
func (g *guest) pollDone(o *object) {
	if o.polls--; o.closing && o.polls == 0 {
		o.closing = false
		g.close(o)
	}
}

// waitLoop runs one poll, and again after a pause that interrupted its
// wait, for what is left of the timeout. It returns the poll's result, or
// an error that ends the guest: a stop, or a trap or exit in a callback.
func (g *guest) waitLoop(timeoutMs int, poll func(timeout int) (int, error)) (int32, error) {
	deadline := time.Now().Add(time.Duration(timeoutMs) * time.Millisecond)
	timeout := timeoutMs
	for {
		n, err := poll(timeout)
		switch {
		case g.fatal != nil:
			return 0, g.fatal
		case errors.Is(err, libbpf.ErrWoken):
			// Paused or stopped while waiting: wait out the pause, then
			// wait for records for what is left of the timeout.
			if err := g.ctl.checkpoint(); err != nil {
				g.end(err)
				return 0, err
			}
			if timeout >= 0 {
				timeout = max(0, int(time.Until(deadline).Milliseconds()))
			}
			continue
		case err != nil:
			g.log.Debug("poll failed", "err", err)
			return errnoOf(err), nil
		}
		return int32(n), nil
	}
}
