package logline

import (
	"bytes"
	"log/slog"
	"testing"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want string
	}{
		{"plain", func(l *slog.Logger) { l.Warn("cannot load BPF object \"x\": operation not permitted") },
			"wasm-bpf: cannot load BPF object \"x\": operation not permitted\n"},
		{"attrs", func(l *slog.Logger) { l.Info("compile cache disabled", "err", "no space", "n", 3, "empty", "") },
			"wasm-bpf: compile cache disabled err=\"no space\" n=3 empty=\"\"\n"},
		{"libbpf's own prefix", func(l *slog.Logger) { l.Debug("libbpf: loading object 'x' from buffer") },
			"libbpf: loading object 'x' from buffer\n"},
		{"lines", func(l *slog.Logger) {
			l.Debug("libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n0: R1=ctx() R10=fp0\ninvalid bpf_context access\n-- END PROG LOAD LOG --")
		}, "libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n    0: R1=ctx() R10=fp0\n    invalid bpf_context access\n    -- END PROG LOAD LOG --\n"},
		{"lines indented by their author", func(l *slog.Logger) { l.Warn("refused; the end of its log:\n    a\n    b") },
			"wasm-bpf: refused; the end of its log:\n    a\n    b\n"},
		{"an attribute of several lines", func(l *slog.Logger) { l.Warn("failed", "log", "one\ntwo") },
			"wasm-bpf: failed\n    log:\n    one\n    two\n"},
		{"group", func(l *slog.Logger) { l.WithGroup("g").With("a", 1).Warn("m", "b", 2) },
			"wasm-bpf: m g.a=1 g.b=2\n"},
		{"below the level", func(l *slog.Logger) { l.Debug("hidden") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			level := slog.LevelDebug
			if tt.name == "below the level" {
				level = slog.LevelInfo
			}
			tt.log(slog.New(NewHandler(&b, level)))
			if b.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tt.want)
			}
		})
	}
}
