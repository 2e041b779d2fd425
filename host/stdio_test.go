package host_test

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
)

// floodWat writes 4 KiB to stdout, again and again, forever.
const floodWat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (loop $forever
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $forever))))`

// stuckWriter takes n bytes, then blocks every Write until release is
// closed.
type stuckWriter struct {
	n       atomic.Int64
	stuck   chan struct{} // closed when a Write blocks
	release chan struct{}
	once    atomic.Bool
}

func newStuckWriter(n int64) *stuckWriter {
	w := &stuckWriter{stuck: make(chan struct{}), release: make(chan struct{})}
	w.n.Store(n)
	return w
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	if w.n.Add(-int64(len(p))) < 0 {
		if w.once.CompareAndSwap(false, true) {
			close(w.stuck)
		}
		<-w.release
	}
	return len(p), nil
}

// A guest whose stdout writer blocks for good (a full pipe nobody reads)
// blocks in fd_write; Terminate ends it all the same, and so does
// Runtime.Close. (wasmtime's fd_write blocked in write(2): neither
// returned.)
func TestTerminateGuestBlockedInWrite(t *testing.T) {
	for _, how := range []string{"Terminate", "Runtime.Close"} {
		t.Run(how, func(t *testing.T) {
			rt, err := host.NewRuntime(host.RuntimeConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			w := newStuckWriter(1 << 20)
			defer close(w.release) // lets the writer left behind finish
			inst, err := rt.Start(context.Background(), wat(t, floodWat), host.Config{Stdout: w})
			if err != nil {
				t.Fatal(err)
			}
			<-w.stuck
			time.Sleep(100 * time.Millisecond) // the guest fills the queue and blocks in fd_write
			start := time.Now()
			stopped := make(chan struct{})
			go func() {
				if how == "Terminate" {
					inst.Terminate()
					<-inst.Done()
				} else {
					rt.Close()
				}
				close(stopped)
			}()
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s has not returned 10 s after it was called", how)
			}
			took := time.Since(start)
			t.Logf("%s of a guest blocked in fd_write: %v", how, took)
			if took > time.Second {
				t.Errorf("%s took %v", how, took)
			}
			if _, err := inst.Wait(); !errors.Is(err, host.ErrTerminated) {
				t.Errorf("Wait: %v, want ErrTerminated", err)
			}
		})
	}
}

// The same with a real pipe that nobody reads as the guest's stdout.
func TestTerminateGuestWritingToFullPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	rt := newRuntime(t)
	inst, err := rt.Start(context.Background(), wat(t, floodWat), host.Config{Stdout: w})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the pipe (64 KiB) and the queue fill
	start := time.Now()
	inst.Terminate()
	select {
	case <-inst.Done():
	case <-time.After(10 * time.Second):
		go io.Copy(io.Discard, r) // unblock, so the test can end
		t.Fatal("Terminate has not ended the guest 10 s later")
	}
	t.Logf("Terminate of a guest writing to a full pipe: %v", time.Since(start))
	if took := time.Since(start); took > time.Second {
		t.Errorf("Terminate took %v", took)
	}
}

// What a guest writes reaches the writer in order, all of it, when the
// guest ends by itself.
func TestOutputComplete(t *testing.T) {
	const guest = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 1000))
    (loop $more
      (i32.store8 (i32.const 1024) (local.get $i))
      (i32.store (i32.const 8) (i32.const 0))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (if (i32.ne (i32.load (i32.const 8)) (i32.const 1000)) (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 1000))))))`
	out := &syncBuffer{}
	code, err := host.Run(context.Background(), wat(t, guest), host.Config{Stdout: out})
	if code != 0 || err != nil {
		t.Fatalf("Run = %d, %v", code, err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	b := out.buf.Bytes()
	if len(b) != 1000*1000 {
		t.Fatalf("got %d bytes, want 1000000", len(b))
	}
	for i := range 1000 {
		if b[i*1000] != byte(i) {
			t.Fatalf("write %d is out of order", i)
		}
	}
}
