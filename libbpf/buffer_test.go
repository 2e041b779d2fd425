package libbpf_test

import (
	"errors"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// scratchBuffers returns a ring buffer consumer and a perf buffer consumer
// on maps created for the test (no BPF program writes to them).
func scratchBuffers(t *testing.T) map[string]interface {
	Poll(*libbpf.Waker, int, libbpf.SampleFunc) (int, error)
	Close()
} {
	testenv.RequireBPF(t)
	rbfd, err := libbpf.CreateMap(libbpf.MapTypeRingBuf, "t_rb", 0, 0, 4096)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(rbfd) })
	ncpu, err := libbpf.PossibleCPUs()
	if err != nil {
		t.Fatal(err)
	}
	pbfd, err := libbpf.CreateMap(libbpf.MapTypePerfEventArray, "t_pb", 4, 4, uint32(ncpu))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(pbfd) })
	rb, err := libbpf.NewRingBuffer(rbfd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rb.Close)
	pb, err := libbpf.NewPerfBuffer(pbfd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pb.Close)
	return map[string]interface {
		Poll(*libbpf.Waker, int, libbpf.SampleFunc) (int, error)
		Close()
	}{"ring": rb, "perf": pb}
}

func TestPollTimeoutAndWake(t *testing.T) {
	for name, buf := range scratchBuffers(t) {
		t.Run(name, func(t *testing.T) {
			w, err := libbpf.NewWaker()
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			never := func([]byte) int { t.Error("callback called on an empty buffer"); return 0 }

			// An empty buffer waits out its timeout, even though the Go
			// runtime interrupts the waiting thread with signals meanwhile.
			start := time.Now()
			n, err := buf.Poll(w, 150, never)
			if n != 0 || err != nil {
				t.Fatalf("Poll on empty buffer = %d, %v", n, err)
			}
			if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
				t.Fatalf("Poll(150ms) returned after %v", d)
			}

			// A wake ends a long wait, and every poll after it.
			go func() {
				time.Sleep(50 * time.Millisecond)
				w.Wake()
			}()
			start = time.Now()
			if _, err := buf.Poll(w, 60_000, never); !errors.Is(err, libbpf.ErrWoken) {
				t.Fatalf("Poll after Wake: %v, want ErrWoken", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("woken Poll returned after %v", d)
			}
			if _, err := buf.Poll(w, -1, never); !errors.Is(err, libbpf.ErrWoken) {
				t.Fatalf("Poll with a woken Waker: %v, want ErrWoken", err)
			}
		})
	}
}

func TestMapOpsOnForeignMemory(t *testing.T) {
	testenv.RequireBPF(t)
	fd, err := libbpf.CreateMap(libbpf.MapTypeHash, "t_hash", 4, 8, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	key, value := uint32(7), uint64(0xdeadbeef)
	if err := libbpf.MapUpdate(fd, ptr(&key), ptr(&value), 0); err != nil {
		t.Fatal(err)
	}
	var got uint64
	if err := libbpf.MapLookup(fd, ptr(&key), ptr(&got), 0); err != nil || got != value {
		t.Fatalf("lookup = %#x, %v", got, err)
	}
	var first uint32
	if err := libbpf.MapNextKey(fd, nil, ptr(&first)); err != nil || first != key {
		t.Fatalf("first key = %d, %v", first, err)
	}
	if err := libbpf.MapNextKey(fd, ptr(&first), ptr(&first)); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("next key after the last: %v, want ENOENT", err)
	}
	if err := libbpf.MapDelete(fd, ptr(&key), 0); err != nil {
		t.Fatal(err)
	}
	if err := libbpf.MapLookup(fd, ptr(&key), ptr(&got), 0); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("lookup after delete: %v, want ENOENT", err)
	}
}

// ptr passes a test value's address as the map calls take it.
func ptr[T any](v *T) unsafe.Pointer { return unsafe.Pointer(v) }
