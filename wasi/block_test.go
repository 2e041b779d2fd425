package wasi

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// blockWat sleeps through poll_oneoff and reads stdin through fd_read;
// memory layout: subscription at 0, event at 64, nevents at 96, iovec at
// 100, read buffer at 200.
const blockWat = `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "sleep") (param $ns i64) (result i32)
    (i64.store (i32.const 0) (i64.const 0x1234))       ;; userdata
    (i32.store8 (i32.const 8) (i32.const 0))           ;; clock subscription
    (i32.store (i32.const 16) (i32.const 1))           ;; monotonic
    (i64.store (i32.const 24) (local.get $ns))         ;; relative timeout
    (i32.store16 (i32.const 40) (i32.const 0))
    (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 96)))
  (func (export "now") (param $id i32) (result i32)
    (call $clock (local.get $id) (i64.const 0) (i32.const 300)))
  (func (export "now_at") (param $id i32) (param $at i32) (result i32)
    (call $clock (local.get $id) (i64.const 0) (local.get $at)))
  ;; Waits for stdin (subscription 0) or an absolute monotonic deadline
  ;; (subscription 1); the events land at 400.
  (func (export "stdin_or_until") (param $deadline i64) (result i32)
    (i64.store (i32.const 0) (i64.const 1))
    (i32.store8 (i32.const 8) (i32.const 1))           ;; fd_read
    (i32.store (i32.const 16) (i32.const 0))           ;; fd 0
    (i64.store (i32.const 48) (i64.const 2))
    (i32.store8 (i32.const 56) (i32.const 0))          ;; clock
    (i32.store (i32.const 64) (i32.const 1))           ;; monotonic
    (i64.store (i32.const 72) (local.get $deadline))
    (i32.store16 (i32.const 88) (i32.const 1))         ;; absolute
    (call $poll (i32.const 0) (i32.const 400) (i32.const 2) (i32.const 96)))
  (func (export "read") (param $fd i32) (param $len i32) (result i32)
    (i32.store (i32.const 100) (i32.const 200))
    (i32.store (i32.const 104) (local.get $len))
    (call $read (local.get $fd) (i32.const 100) (i32.const 1) (i32.const 96))))`

type blockGuest struct {
	store     *wasmtime.Store
	inst      *wasmtime.Instance
	mem       *wasmtime.Memory
	interrupt chan struct{}
}

func newBlockGuest(t *testing.T, stdin io.Reader) *blockGuest {
	t.Helper()
	engine := wasmtime.NewEngine()
	store := wasmtime.NewStore(engine)
	t.Cleanup(store.Close)
	streams, err := Configure(store, Config{Stdin: stdin})
	if err != nil {
		t.Fatal(err)
	}
	linker := wasmtime.NewLinker(engine)
	if err := linker.DefineWasi(); err != nil {
		t.Fatal(err)
	}
	g := &blockGuest{store: store, interrupt: make(chan struct{})}
	if err := streams.Define(linker, store, g.interrupt); err != nil {
		t.Fatal(err)
	}
	wasm, err := wasmtime.Wat2Wasm(blockWat)
	if err != nil {
		t.Fatal(err)
	}
	module, err := wasmtime.NewModule(engine, wasm)
	if err != nil {
		t.Fatal(err)
	}
	if g.inst, err = linker.Instantiate(store, module); err != nil {
		t.Fatal(err)
	}
	g.mem = g.inst.GetExport(store, "memory").Memory()
	return g
}

func (g *blockGuest) call(name string, args ...any) (int32, error) {
	res, err := g.inst.GetFunc(g.store, name).Call(g.store, args...)
	if err != nil {
		return 0, err
	}
	return res.(int32), nil
}

func (g *blockGuest) u32(off int) uint32 {
	return binary.LittleEndian.Uint32(g.mem.UnsafeData(g.store)[off:])
}

func TestSleepIsServedAndInterruptible(t *testing.T) {
	g := newBlockGuest(t, nil)
	start := time.Now()
	if errno, err := g.call("sleep", int64(50*time.Millisecond)); errno != 0 || err != nil {
		t.Fatalf("sleep = %d, %v", errno, err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("slept %v, want >= 50ms", d)
	}
	mem := g.mem.UnsafeData(g.store)
	if n := g.u32(96); n != 1 || binary.LittleEndian.Uint64(mem[64:]) != 0x1234 || mem[74] != 0 {
		t.Fatalf("events = %d, event % x", n, mem[64:96])
	}

	time.AfterFunc(50*time.Millisecond, func() { close(g.interrupt) })
	start = time.Now()
	_, err := g.call("sleep", int64(time.Minute))
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted sleep returned %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("interrupt took %v", d)
	}
}

func TestStdinReadsAndInterrupts(t *testing.T) {
	pr, pw := io.Pipe()
	g := newBlockGuest(t, pr)
	go pw.Write([]byte("hello, guest"))
	if errno, err := g.call("read", int32(0), int32(5)); errno != 0 || err != nil {
		t.Fatalf("read = %d, %v", errno, err)
	}
	if n, got := g.u32(96), g.mem.UnsafeData(g.store)[200:205]; n != 5 || !bytes.Equal(got, []byte("hello")) {
		t.Fatalf("read %d bytes %q", n, got)
	}
	// The rest of the chunk is kept for the next read.
	if errno, _ := g.call("read", int32(0), int32(100)); errno != 0 || g.u32(96) != 7 {
		t.Fatalf("second read = %d, %d bytes", errno, g.u32(96))
	}
	// The guest has no other readable fd.
	for _, fd := range []int32{1, 2, 3, 9, -1} {
		if errno, err := g.call("read", fd, int32(10)); errno != errnoBadf || err != nil {
			t.Fatalf("read of fd %d = %d, %v; want EBADF", fd, errno, err)
		}
	}
	time.AfterFunc(50*time.Millisecond, func() { close(g.interrupt) })
	if _, err := g.call("read", int32(0), int32(10)); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("blocked read returned %v", err)
	}
	pw.Close()
}

func TestStdinEOF(t *testing.T) {
	g := newBlockGuest(t, strings.NewReader("x"))
	g.call("read", int32(0), int32(10))
	if errno, err := g.call("read", int32(0), int32(10)); errno != 0 || err != nil || g.u32(96) != 0 {
		t.Fatalf("read at EOF = %d, %v, %d bytes", errno, err, g.u32(96))
	}
}

func TestClockAndPollOnStdin(t *testing.T) {
	pr, pw := io.Pipe()
	g := newBlockGuest(t, pr)
	mem := func() []byte { return g.mem.UnsafeData(g.store) }
	before := monotonic()
	if errno, _ := g.call("now", int32(1)); errno != 0 {
		t.Fatalf("clock_time_get(monotonic) = %d", errno)
	}
	mono := binary.LittleEndian.Uint64(mem()[300:])
	// The guest's monotonic clock is the kernel's (bpf_ktime_get_ns).
	if after := monotonic(); mono < before || mono > after {
		t.Fatalf("monotonic %d not within the host's [%d, %d]", mono, before, after)
	}
	for _, tt := range []struct {
		id, at int32
		want   int32
	}{
		{7, 300, errnoInval},
		{2, 300, 58}, // ENOTSUP: no CPU-time clocks, as in wasmtime
		{1, 65536 - 7, errnoFault},
		{0, -1, errnoFault},
		{0, 65536 - 8, 0},
	} {
		if errno, _ := g.call("now_at", tt.id, tt.at); errno != tt.want {
			t.Errorf("clock_time_get(%d) into %d = %d, want %d", tt.id, tt.at, errno, tt.want)
		}
	}
	if wall := int64(binary.LittleEndian.Uint64(mem()[65536-8:])); time.Since(time.Unix(0, wall)).Abs() > time.Minute {
		t.Errorf("realtime clock says %v", time.Unix(0, wall))
	}

	// Nothing on stdin: the absolute monotonic deadline fires.
	start := time.Now()
	deadline := mono + uint64(30*time.Millisecond) + uint64(time.Since(start))
	if errno, err := g.call("stdin_or_until", int64(deadline)); errno != 0 || err != nil {
		t.Fatalf("poll = %d, %v", errno, err)
	}
	if n := g.u32(96); n != 1 || mem()[400] != 2 || mem()[410] != 0 {
		t.Fatalf("want one clock event (userdata 2), got %d: % x", n, mem()[400:432])
	}
	if d := time.Since(start); d < 25*time.Millisecond {
		t.Fatalf("absolute deadline fired after %v", d)
	}

	// Data on stdin wakes the poll before its deadline.
	time.AfterFunc(20*time.Millisecond, func() { pw.Write([]byte("abc")) })
	start = time.Now()
	if errno, err := g.call("stdin_or_until", int64(mono+uint64(time.Hour))); errno != 0 || err != nil {
		t.Fatalf("poll = %d, %v", errno, err)
	}
	ev := mem()[400:432]
	if n := g.u32(96); n != 1 || ev[0] != 1 || ev[10] != 1 || binary.LittleEndian.Uint64(ev[16:]) != 3 {
		t.Fatalf("want one fd_read event with 3 bytes, got %d: % x", n, ev)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("stdin wake-up took %v", d)
	}
	// At end of input the read subscription reports a hang-up at once.
	g.call("read", int32(0), int32(10))
	pw.Close()
	if errno, _ := g.call("stdin_or_until", int64(mono+uint64(time.Hour))); errno != 0 || binary.LittleEndian.Uint16(mem()[424:]) != flagHangup {
		t.Fatalf("poll at EOF = %d, event % x", errno, mem()[400:432])
	}
}
