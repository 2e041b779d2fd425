package host_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
)

// bigWat is a module with many functions, so that compiling it takes a
// while; seed makes each one a different module.
func bigWat(seed int) string {
	var b strings.Builder
	b.WriteString(`(module (memory (export "memory") 1)`)
	for i := range 200 {
		fmt.Fprintf(&b, `(func $f%d (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const %d)) (i32.const %d)))`, i, i+seed, seed)
	}
	b.WriteString(`(func (export "_start") (drop (call $f1 (i32.const 1)))))`)
	return b.String()
}

// Start and Precompile racing Close, from many goroutines: each Start
// either runs its guest (which Close then ends) or returns ErrClosed, each
// Precompile either fills the cache or returns ErrClosed, Close waits for
// the compilations in progress before it frees the engines, and both
// return ErrClosed after Close. With a compile cache a Start compiles with
// the quick engine (Winch) and leaves Cranelift's compile in the
// background. (Start after Close panicked: "object has been closed
// already"; racing them freed the engine under Cranelift: SIGSEGV; so did
// Precompile after the merge of the Winch tier, which gave it no use().)
func TestStartRacesClose(t *testing.T) {
	const starters = 8
	modules := make([][]byte, starters)
	for i := range modules {
		modules[i] = wat(t, bigWat(i))
	}
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cached), func(t *testing.T) {
			for round := range 10 {
				var cfg host.RuntimeConfig
				if cached {
					cfg.CacheDir = t.TempDir() // empty: every Start compiles
				}
				rt, err := host.NewRuntime(cfg)
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				var mu sync.Mutex
				var insts []*host.Instance
				started, refused := 0, 0
				for i := range starters {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range 3 {
							var inst *host.Instance
							var err error
							if cached && i%2 == 1 {
								err = rt.Precompile(modules[i])
							} else {
								inst, err = rt.Start(context.Background(), modules[i], host.Config{})
							}
							mu.Lock()
							switch {
							case errors.Is(err, host.ErrClosed):
								refused++
							case err != nil:
								t.Errorf("Start or Precompile: %v, want ErrClosed", err)
							default:
								started++
								if inst != nil {
									insts = append(insts, inst)
								}
							}
							mu.Unlock()
						}
					}()
				}
				time.Sleep(time.Duration(round) * 5 * time.Millisecond)
				closed := make(chan struct{})
				go func() { rt.Close(); close(closed) }()
				select {
				case <-closed:
				case <-time.After(30 * time.Second):
					t.Fatal("Close has not returned in 30 s")
				}
				wg.Wait()
				for _, inst := range insts {
					select {
					case <-inst.Done():
					case <-time.After(10 * time.Second):
						t.Fatal("a guest started before Close still runs after it")
					}
				}
				if _, err := rt.Start(context.Background(), modules[0], host.Config{}); !errors.Is(err, host.ErrClosed) {
					t.Fatalf("Start after Close: %v, want ErrClosed", err)
				}
				if cached {
					if err := rt.Precompile(modules[0]); !errors.Is(err, host.ErrClosed) {
						t.Fatalf("Precompile after Close: %v, want ErrClosed", err)
					}
				}
				t.Logf("round %d: %d started or compiled, %d refused", round, started, refused)
			}
		})
	}
}
