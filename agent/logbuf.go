package agent

import (
	"bytes"
	"sync"
	"time"
)

// LogLine is one line of a guest's output, or of what the agent and the
// host said about it.
type LogLine struct {
	Seq    uint64    `json:"seq"` // 1, 2, ... per guest, across restarts
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"` // stdout, stderr, or agent
	Text   string    `json:"text"`
}

// Streams of LogLine.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
	StreamAgent  = "agent" // the supervisor's and the host's lines about the guest
)

// maxLine cuts longer lines: a guest that writes no newline must not hold
// an unbounded partial line.
const maxLine = 16 << 10

// logBuffer keeps the last lines of a guest, up to max bytes of text; the
// oldest go first.
type logBuffer struct {
	max int

	mu      sync.Mutex
	lines   []LogLine // oldest first
	size    int
	next    uint64        // Seq of the next line
	changed chan struct{} // closed and replaced whenever a line is added or wake is called
}

func newLogBuffer(max int) *logBuffer {
	return &logBuffer{max: max, next: 1, changed: make(chan struct{})}
}

func (b *logBuffer) add(stream, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, LogLine{Seq: b.next, Time: time.Now(), Stream: stream, Text: text})
	b.next++
	b.size += len(text) + 64 // the line's overhead, roughly
	for b.size > b.max && len(b.lines) > 1 {
		b.size -= len(b.lines[0].Text) + 64
		b.lines[0] = LogLine{}
		b.lines = b.lines[1:]
	}
	b.wakeLocked()
}

// wake lets followers look again (the guest's state changed).
func (b *logBuffer) wake() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.wakeLocked()
}

func (b *logBuffer) wakeLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// since returns the lines after seq (0: all it holds, or the last tail
// ones if tail > 0), the seq to ask for next, and a channel closed when
// there may be more.
func (b *logBuffer) since(seq uint64, tail int) ([]LogLine, uint64, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := 0
	if len(b.lines) > 0 && seq >= b.lines[0].Seq {
		i = min(int(seq-b.lines[0].Seq)+1, len(b.lines))
	}
	if seq == 0 && tail > 0 && tail < len(b.lines) {
		i = len(b.lines) - tail
	}
	out := append([]LogLine(nil), b.lines[i:]...)
	last := b.next - 1
	return out, last, b.changed
}

// lineWriter splits what a guest writes to one stream into lines.
type lineWriter struct {
	b       *logBuffer
	stream  string
	mu      sync.Mutex
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			for len(w.partial) >= maxLine {
				w.b.add(w.stream, string(w.partial[:maxLine]))
				w.partial = w.partial[maxLine:]
			}
			break
		}
		w.partial = append(w.partial, p[:i]...)
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

// emit adds the partial line, cut into pieces of maxLine bytes.
func (w *lineWriter) emit() {
	line := w.partial
	for len(line) > maxLine {
		w.b.add(w.stream, string(line[:maxLine]))
		line = line[maxLine:]
	}
	w.b.add(w.stream, string(line))
	w.partial = w.partial[:0]
}

// flush adds what is left of a line without its newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.emit()
	}
}
