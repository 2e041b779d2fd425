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
	p, errno := g.pollArgs(c, fn, args[0], args[1], args[4], args[5], args[6])
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
	p, errno := g.pollArgs(c, fn, args[0], args[1], args[3], args[4], args[5])
	if errno != 0 {
		return retI32(errno)
	}
	if g.callback == nil {
		if e := c.GetExport(g.cfg.CallbackExport); e != nil {
			g.callback = e.Func()
		}
	}
	if g.callback == nil || !isSampleFunc(c, g.callback) {
		return retI32(g.refuse(fn, syscall.EINVAL, "guest exports no callback (ctx, data, size i32) -> i32 under this name", "export", g.cfg.CallbackExport))
	}
	return g.poll(c, p, g.callback, args[2].I32())
}

// batchPoll is wasm_bpf_ext.wasm_bpf_buffer_poll_batch(handle, fd, buf,
// buf_size, timeout_ms): ready records are copied into buf, framed, with
// no call into the guest (docs/abi-ext.md).
func (g *guest) batchPoll(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	const fn = "wasm_bpf_buffer_poll_batch"
	p, errno := g.pollArgs(c, fn, args[0], args[1], args[2], args[3], args[4])
	if errno != 0 {
		return retI32(errno)
	}
	if p.maxSize < 8 {
		return retI32(g.refuse(fn, syscall.EINVAL, "batch buffer smaller than 8 bytes", "buf_size", int32(p.maxSize)))
	}
	o := p.obj
	o.polls++
	defer g.pollDone(o)
	return g.waitLoop(p.timeoutMs, func(timeout int) (int, error) {
		if err := g.ctl.checkpoint(); err != nil {
			g.end(err)
			return 0, err
		}
		// Checked by pollArgs; the guest ran no code since.
		dst, _ := g.memory(c).Slice(p.data, p.maxSize)
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
func (g *guest) pollArgs(c *wasmtime.Caller, fn string, handle, fd, data, maxSize, timeout wasmtime.Val) (pollReq, int32) {
	o, ok := g.objects[uint64(handle.I64())]
	if !ok {
		return pollReq{}, g.refuse(fn, syscall.EINVAL, "unknown handle", "handle", uint64(handle.I64()))
	}
	m, ok := o.maps[fd.I32()]
	if !ok || m.typ != libbpf.MapTypeRingBuf && m.typ != libbpf.MapTypePerfEventArray {
		return pollReq{}, g.refuse(fn, syscall.EINVAL, "fd is not a ring or perf buffer map of this handle", "fd", fd.I32())
	}
	p := pollReq{obj: o, data: uint32(data.I32()), maxSize: uint32(maxSize.I32()), timeoutMs: int(timeout.I32())}
	if _, ok := g.memory(c).Slice(p.data, p.maxSize); !ok {
		return pollReq{}, g.refuse(fn, syscall.EFAULT, "data range outside guest memory", "data", p.data, "max_size", int32(p.maxSize))
	}
	b, err := o.buffer(fd.I32(), m)
	if err != nil {
		g.log.Debug(fn+": cannot consume map", "map", m.name, "err", err)
		return pollReq{}, errnoOf(err)
	}
	p.buf = b
	return p, 0
}

// buffer returns the consumer of map fd, creating it on first use.
func (o *object) buffer(fd int32, m *mapRef) (buffer, error) {
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
	o.buffers[fd] = b
	return b, nil
}

// tableFunc resolves a sample_func table index to a function of the record
// callback's signature.
func (g *guest) tableFunc(c *wasmtime.Caller, fn string, idx uint32) (*wasmtime.Func, int32) {
	if g.table == nil {
		if e := c.GetExport(tableExport); e != nil {
			g.table = e.Table()
		}
		if g.table == nil {
			return nil, g.refuse(fn, syscall.EINVAL, "guest exports no "+tableExport+" (link with -Wl,--export-table)")
		}
	}
	v, err := g.table.Get(c, uint64(idx))
	if err != nil {
		return nil, g.refuse(fn, syscall.EINVAL, "sample_func index out of range", "index", idx)
	}
	f := v.Funcref()
	if f == nil || !isSampleFunc(c, f) {
		return nil, g.refuse(fn, syscall.EINVAL, "sample_func is not a function (ctx, data, size i32) -> i32", "index", idx)
	}
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
func (g *guest) poll(c *wasmtime.Caller, p pollReq, cb *wasmtime.Func, cbCtx int32) ([]wasmtime.Val, *wasmtime.Trap) {
	o := p.obj
	o.polls++
	defer g.pollDone(o)
	deliver := func(rec []byte) int {
		// Pause holds records in the kernel's buffer; stop ends delivery.
		if err := g.ctl.checkpoint(); err != nil {
			g.end(err)
			return -1
		}
		// The guest may have grown (moved) its memory in the last callback.
		dst, ok := g.memory(c).Slice(p.data, p.maxSize)
		if !ok {
			return int(g.refuse("poll", syscall.EFAULT, "data range left guest memory"))
		}
		n := copy(dst, rec)
		// cb's type was checked above, so the unchecked call is safe; it
		// costs ~0.1 µs where wasmtime-go's Call costs ~2.5 µs.
		res, err := wasmtimex.CallI32x3(c, cb, cbCtx, int32(p.data), int32(n))
		if err != nil {
			g.end(err)
			return -1
		}
		return int(res)
	}
	return g.waitLoop(p.timeoutMs, func(timeout int) (int, error) {
		return p.buf.Poll(g.ctl.waker, timeout, deliver)
	})
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
// wait, for what is left of the timeout; a stop, or a trap or exit in a
// callback, ends the guest.
func (g *guest) waitLoop(timeoutMs int, poll func(timeout int) (int, error)) ([]wasmtime.Val, *wasmtime.Trap) {
	deadline := time.Now().Add(time.Duration(timeoutMs) * time.Millisecond)
	timeout := timeoutMs
	for {
		n, err := poll(timeout)
		switch {
		case g.fatal != nil:
			return nil, wasmtime.NewTrap(g.fatal.Error())
		case errors.Is(err, libbpf.ErrWoken):
			// Paused or stopped while waiting: wait out the pause, then
			// wait for records for what is left of the timeout.
			if err := g.ctl.checkpoint(); err != nil {
				g.end(err)
				return nil, wasmtime.NewTrap(err.Error())
			}
			if timeout >= 0 {
				timeout = max(0, int(time.Until(deadline).Milliseconds()))
			}
			continue
		case err != nil:
			g.log.Debug("poll failed", "err", err)
			return retI32(errnoOf(err))
		}
		return retI32(int32(n))
	}
}
