package host_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/host"
)

// tickerWat writes "." to stdout every 2^18 loop iterations, forever: its
// output shows whether its Wasm code runs.
const tickerWat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) ".")
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 1))
    (loop $forever
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.eqz (i32.and (local.get $i) (i32.const 0x3ffff)))
        (then (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
      (br $forever))))`

func wat(t testing.TB, src string) []byte {
	t.Helper()
	wasm, err := wasmtime.Wat2Wasm(src)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// syncBuffer is a bytes.Buffer the guest's output goroutine and the test
// share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// waitGrowth waits until the guest wrote more than n bytes.
func waitGrowth(t *testing.T, out *syncBuffer, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for out.Len() <= n {
		if time.Now().After(deadline) {
			t.Fatalf("guest wrote nothing new in %v", within)
		}
		time.Sleep(time.Millisecond)
	}
}

func newRuntime(t *testing.T) *host.Runtime {
	t.Helper()
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}

// Pause and Terminate reach a guest that runs Wasm in a loop and never
// calls the host for anything but writes.
func TestPauseResumeTerminateWasmLoop(t *testing.T) {
	rt := newRuntime(t)
	out := &syncBuffer{}
	inst, err := rt.Start(context.Background(), wat(t, tickerWat), host.Config{Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	waitGrowth(t, out, 0, 10*time.Second)

	inst.Pause()
	time.Sleep(100 * time.Millisecond) // the pause has taken hold by now (one 10 ms tick)
	paused := out.Len()
	time.Sleep(300 * time.Millisecond)
	if n := out.Len(); n != paused {
		t.Fatalf("paused guest wrote %d more bytes", n-paused)
	}
	inst.Resume()
	waitGrowth(t, out, paused, 10*time.Second)

	start := time.Now()
	inst.Terminate()
	code, err := inst.Wait()
	t.Logf("Terminate to Wait returning: %v", time.Since(start))
	if !errors.Is(err, host.ErrTerminated) || code == 0 {
		t.Fatalf("Wait = %d, %v; want ErrTerminated", code, err)
	}
}

// A paused guest can be terminated.
func TestTerminatePaused(t *testing.T) {
	rt := newRuntime(t)
	out := &syncBuffer{}
	inst, err := rt.Start(context.Background(), wat(t, tickerWat), host.Config{Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	waitGrowth(t, out, 0, 10*time.Second)
	inst.Pause()
	time.Sleep(50 * time.Millisecond)
	inst.Terminate()
	if _, err := inst.Wait(); !errors.Is(err, host.ErrTerminated) {
		t.Fatalf("Wait: %v, want ErrTerminated", err)
	}
}

// Guests of one runtime run concurrently; stopping one leaves the others
// running; Close stops the rest.
func TestManyGuestsIndependent(t *testing.T) {
	rt := newRuntime(t)
	const n = 4
	insts := make([]*host.Instance, n)
	outs := make([]*syncBuffer, n)
	for i := range insts {
		outs[i] = &syncBuffer{}
		var err error
		if insts[i], err = rt.Start(context.Background(), wat(t, tickerWat), host.Config{Stdout: outs[i]}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range outs {
		waitGrowth(t, outs[i], 0, 10*time.Second)
	}
	insts[0].Terminate()
	insts[0].Wait()
	for i := 1; i < n; i++ {
		waitGrowth(t, outs[i], outs[i].Len(), 10*time.Second)
	}
	rt.Close()
	for i := 1; i < n; i++ {
		select {
		case <-insts[i].Done():
		default:
			t.Fatalf("guest %d still running after Close", i)
		}
	}
}

// sleeperWat sleeps 10 ms (poll_oneoff on the monotonic clock) 100 times
// and exits 0: a second of wall time, almost no CPU.
const sleeperWat = `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 10000000))
    (loop $sleep
      (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $sleep (i32.lt_u (local.get $i) (i32.const 100))))))`

func TestCPULimitAndContext(t *testing.T) {
	rt := newRuntime(t)
	const limit = 50 * time.Millisecond
	began := time.Now()
	inst, err := rt.Start(context.Background(), wat(t, tickerWat), host.Config{CPULimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Wait(); !errors.Is(err, host.ErrCPULimit) {
		t.Fatalf("Wait: %v, want ErrCPULimit", err)
	}
	// A thread cannot use more CPU than the wall time it had.
	if took := time.Since(began); took < limit {
		t.Errorf("stopped after %v of wall time, before its %v of CPU", took, limit)
	}

	// CPU, not wake-ups: a guest that wakes every 10 ms for a second, with
	// a limit of 50 ms, runs to its end (counting an epoch tick per wake-up
	// stopped it after five).
	inst, err = rt.Start(context.Background(), wat(t, sleeperWat), host.Config{CPULimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := inst.Wait(); code != 0 || err != nil {
		t.Fatalf("sleeper: Wait = %d, %v; want 0, nil", code, err)
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("the embedder is shutting down")
	inst, err = rt.Start(ctx, wat(t, tickerWat), host.Config{})
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { cancel(cause) })
	if _, err := inst.Wait(); !errors.Is(err, cause) {
		t.Fatalf("Wait: %v, want the context's cause", err)
	}
}

// Custom host functions are typed Go functions the guest imports.
func TestHostFuncs(t *testing.T) {
	const guest = `(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (call $add (i32.const 40) (i32.const 2)))))`
	code, err := host.Run(context.Background(), wat(t, guest), host.Config{
		HostFuncs: []host.HostFunc{{Module: "env", Name: "add", Func: func(a, b int32) int32 { return a + b }}},
	})
	if code != 42 || err != nil {
		t.Fatalf("Run = %d, %v; want 42", code, err)
	}
	// The ABI's own names cannot be taken over.
	_, err = host.Run(context.Background(), wat(t, guest), host.Config{
		HostFuncs: []host.HostFunc{{Module: "wasm_bpf", Name: "wasm_close_bpf_object", Func: func(int64) int32 { return 0 }}},
	})
	if err == nil || !strings.Contains(err.Error(), "wasm_close_bpf_object") {
		t.Fatalf("redefining an ABI function: %v", err)
	}
}

// Pause, Resume and Terminate of a guest that has ended do nothing.
func TestControlAfterEnd(t *testing.T) {
	rt := newRuntime(t)
	inst, err := rt.Start(context.Background(), wat(t, `(module (memory (export "memory") 1) (func (export "_start")))`), host.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := inst.Wait(); code != 0 || err != nil {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	for i := 0; i < 3; i++ {
		inst.Pause()
		inst.Resume()
		inst.Terminate()
	}
	if code, err := inst.Wait(); code != 0 || err != nil {
		t.Fatalf("Wait after late calls = %d, %v", code, err)
	}
}
