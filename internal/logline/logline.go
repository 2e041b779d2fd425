// Package logline writes log records for a person reading them: a record
// is one line, "wasm-bpf: MESSAGE key=value ...", and a message or an
// attribute of several lines (the verifier's log, the end of it in a load
// failure's explanation) goes on over indented lines, as it was written,
// never escaped into one line.
//
// `wasm-bpf run` and `serve` print their log this way, and the agent
// writes each guest's host log into the guest's log buffer this way, so
// that `wasm-bpf logs` shows a guest's failure as `run` does.
package logline

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// prefix starts the first line of a record, but for libbpf's messages,
// which carry their own "libbpf: ".
const prefix = "wasm-bpf: "

// indent starts the lines after a record's first; lines its author
// indented already keep their indentation.
const indent = "    "

// Handler is a slog.Handler that writes each record to its writer in one
// Write call, as whole lines.
type Handler struct {
	w     io.Writer
	mu    *sync.Mutex
	level slog.Leveler
	attrs []slog.Attr
	group string
}

// NewHandler writes the records from level up to w.
func NewHandler(w io.Writer, level slog.Leveler) *Handler {
	return &Handler{w: w, mu: &sync.Mutex{}, level: level}
}

func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	for _, a := range as {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		h2.attrs = append(slices.Clip(h2.attrs), a)
	}
	return &h2
}

func (h *Handler) WithGroup(name string) slog.Handler {
	h2 := *h
	if h2.group != "" {
		name = h2.group + "." + name
	}
	h2.group = name
	return &h2
}

// Handle writes r whatever its level: Enabled is the caller's to ask.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	msg := r.Message
	if !strings.HasPrefix(msg, "libbpf: ") {
		b.WriteString(prefix)
	}
	first, rest, multi := strings.Cut(msg, "\n")
	b.WriteString(first)
	var blocks []string // attributes of several lines, after the record's own
	write := func(a slog.Attr) {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return
		}
		v := a.Value.String()
		if strings.Contains(v, "\n") {
			blocks = append(blocks, a.Key+":\n"+v)
			return
		}
		if v == "" || strings.ContainsAny(v, " \t\"=") {
			v = strconv.Quote(v)
		}
		b.WriteString(" " + a.Key + "=" + v)
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(func(a slog.Attr) bool {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		write(a)
		return true
	})
	b.WriteByte('\n')
	if multi {
		blocks = append([]string{rest}, blocks...)
	}
	for _, blk := range blocks {
		for _, l := range strings.Split(strings.TrimRight(blk, "\n"), "\n") {
			if !strings.HasPrefix(l, indent) { // indented by the message's author
				l = indent + l
			}
			b.WriteString(l + "\n")
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}
