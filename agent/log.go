package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// guestLogger is the host log of one guest: to the agent's log with
// guest=ID, and, from cfg.Level up, into the guest's log buffer, as
// `wasm-bpf run` prints it (package logline), where `wasm-bpf logs` shows
// a refusal beside the output it explains.
func (a *Agent) guestLogger(g *guest) *slog.Logger {
	return slog.New(slog.NewMultiHandler(
		a.log.Handler().WithAttrs([]slog.Attr{slog.String("guest", g.spec.ID)}),
		g.notes,
	))
}

// say writes what the agent has to say about the guest into its log
// buffer only, whatever cfg.Level, as the guest's host log is written.
func (g *guest) say(format string, args ...any) {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, fmt.Sprintf(format, args...), 0)
	g.notes.Handle(context.Background(), r)
}
