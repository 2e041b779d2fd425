package host

import (
	"fmt"
	"syscall"

	"github.com/wasm-bpf/wasm-bpf/host/internal/cabi"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// The polls (wasm_bpf_buffer_poll, the callback-wrapper's poll and the
// batched poll) are served in C (host/internal/cabi), records and
// callbacks included. pollHost is what they ask of the host: the checks
// only it can make, consumers, pauses, and the log.
type pollHost guest

var _ cabi.Host = (*pollHost)(nil)

func (h *pollHost) fn(k cabi.PollKind) string {
	switch k {
	case cabi.PollTable:
		return "wasm_bpf_buffer_poll"
	case cabi.PollWrapper:
		return h.cfg.WrapperModule + ".wasm_bpf_buffer_poll"
	}
	return "wasm_bpf_buffer_poll_batch"
}

// PollSetup checks a first poll's handle and fd and creates the consumer.
func (h *pollHost) PollSetup(k cabi.PollKind, handle uint64, fd int32) int32 {
	g := (*guest)(h)
	fn := h.fn(k)
	o, ok := g.objects[handle]
	if !ok {
		return g.refuse(fn, syscall.EINVAL, "unknown handle", "handle", handle)
	}
	m, ok := o.maps[fd]
	if !ok || m.typ != libbpf.MapTypeRingBuf && m.typ != libbpf.MapTypePerfEventArray {
		return g.refuse(fn, syscall.EINVAL, "fd is not a ring or perf buffer map of this handle", "fd", fd)
	}
	if err := g.buffer(o, fd, m); err != nil {
		return g.failErr(err)
	}
	return 0
}

func (h *pollHost) PollRefused(k cabi.PollKind, errno syscall.Errno, why string, args ...any) {
	(*guest)(h).refuse(h.fn(k), errno, why, args...)
}

// PollWoken waits out a pause; a stop ends the guest.
func (h *pollHost) PollWoken() error {
	if err := h.ctl.checkpoint(); err != nil {
		(*guest)(h).end(err)
		return err
	}
	return nil
}

func (h *pollHost) PollEnded(err error) { (*guest)(h).end(err) }

// PollFailed logs and records a poll that failed in libbpf or the kernel.
func (h *pollHost) PollFailed(k cabi.PollKind, fd int32, errno syscall.Errno) {
	g := (*guest)(h)
	msg := fmt.Sprintf("%s: poll of %s: %s", h.fn(k), g.fdName(fd), errno)
	g.log.Debug(msg)
	g.note(errno, msg)
}

// PollClosed releases the objects the guest closed from a callback (held,
// but no longer open), once no poll of theirs is delivering records.
func (h *pollHost) PollClosed() {
	g := (*guest)(h)
	closing := false
	for o := range g.held {
		switch {
		case g.objects[o.handle] == o:
		case o.busy():
			closing = true
		default:
			g.release(o)
		}
	}
	g.maptab.SetClosing(closing)
}

// buffer creates the consumer of map fd of o and hands it to the polls'
// C path.
func (g *guest) buffer(o *object, fd int32, m *mapRef) error {
	if _, ok := o.buffers[fd]; ok {
		return nil
	}
	var b buffer
	var err error
	if m.typ == libbpf.MapTypeRingBuf {
		b, err = libbpf.NewRingBuffer(int(fd))
	} else {
		b, err = libbpf.NewPerfBuffer(int(fd))
	}
	if err != nil {
		return explainBuffer(m, err)
	}
	b.CountInto(g.stats.pollCounters())
	if err := g.maptab.SetBuffer(fd, o.handle, b.Target()); err != nil {
		b.Close()
		return err
	}
	o.buffers[fd] = b
	return nil
}
