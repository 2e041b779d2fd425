package agent

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// guestLogger is the host log of one guest: to the agent's log with
// guest=ID, and, from cfg.Level up, into the guest's log buffer, where
// `wasm-bpf logs` shows a refusal beside the output it explains.
func (a *Agent) guestLogger(g *guest) *slog.Logger {
	return slog.New(&teeHandler{
		next:  a.log.Handler().WithAttrs([]slog.Attr{slog.String("guest", g.spec.ID)}),
		logs:  g.logs,
		level: a.cfg.Level,
	})
}

type teeHandler struct {
	next  slog.Handler
	logs  *logBuffer
	level slog.Leveler
	attrs []slog.Attr
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level.Level() || h.next.Enabled(ctx, l)
}

func (h *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= h.level.Level() {
		var b strings.Builder
		if r.Level != slog.LevelInfo {
			b.WriteString(strings.ToLower(r.Level.String()) + ": ")
		}
		b.WriteString(r.Message)
		for _, a := range h.attrs {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		}
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		h.logs.add(StreamAgent, b.String())
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}
