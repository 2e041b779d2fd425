package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"golang.org/x/sys/unix"
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

// SIGTERM ends a guest blocked writing to a stdout pipe that nobody reads,
// and the runtime exits 143. (wasmtime's fd_write blocked in write(2),
// where the signal could not reach the guest: the runtime never exited.)
func TestSignalEndsGuestBlockedInWrite(t *testing.T) {
	wasm, err := wasmtime.Wat2Wasm(floodWat)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "flood.wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(tc.CLIT(t), path)
	cmd.Stdout = w // the pipe itself is the runtime's fd 1
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	}()
	// Compiled, running, and blocked: the pipe is full.
	size, err := unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(readyTimeout); ; time.Sleep(10 * time.Millisecond) {
		n, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ) // FIONREAD: bytes in the pipe
		if err != nil {
			t.Fatal(err)
		}
		if n >= size {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the guest wrote %d bytes of the pipe's %d in %v", n, size, readyTimeout)
		}
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(exitTimeout):
		t.Fatalf("wasm-bpf has not exited %v after SIGTERM", exitTimeout)
	}
	took := time.Since(start)
	t.Logf("SIGTERM to exit, guest blocked in fd_write: %v", took)
	if code := cmd.ProcessState.ExitCode(); code != 143 {
		t.Errorf("exit %d, want 143", code)
	}
	if took > stopBound {
		t.Errorf("exit took %v", took)
	}
}
