package host

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// spinWat runs until stopped.
const spinWat = `(module (memory (export "memory") 1) (func (export "_start") (loop br 0)))`

func spinModule(t *testing.T) []byte {
	t.Helper()
	wasm, err := wasmtime.Wat2Wasm(spinWat)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// moduleOf starts a guest of wasm and returns the module it runs, and the
// guest (stop it when done).
func moduleOf(t *testing.T, rt *Runtime, wasm []byte) (*module, *Instance) {
	t.Helper()
	inst, err := rt.Start(context.Background(), wasm, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return inst.mod, inst
}

// startAs starts a guest of wasm and checks which compiler made its code
// and whether it came from the cache; it stops the guest.
func startAs(t *testing.T, rt *Runtime, wasm []byte, compiler string, cached bool, when string) {
	t.Helper()
	m, inst := moduleOf(t, rt, wasm)
	if m.compiler() != compiler || m.cached != cached {
		t.Fatalf("%s: compiler %s, from the cache %v; want %s, %v", when, m.compiler(), m.cached, compiler, cached)
	}
	inst.Terminate()
	inst.Wait()
}

func cacheEntries(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.cwasm"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// Guests of one module share its code while any runs; it is freed when
// the last ends.
func TestModuleShared(t *testing.T) {
	rt, err := NewRuntime(RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	wasm := spinModule(t)
	a, ia := moduleOf(t, rt, wasm)
	b, ib := moduleOf(t, rt, wasm)
	rt.mods.mu.Lock()
	shared := rt.mods.byKey[sha256.Sum256(wasm)] == a
	rt.mods.mu.Unlock()
	if a != b || a.refs != 2 || !shared {
		t.Fatalf("two guests of one module: modules %p and %p, refs %d; want one module, 2 refs", a, b, a.refs)
	}
	ia.Terminate()
	ia.Wait()
	ib.Terminate()
	ib.Wait()
	rt.mods.mu.Lock()
	defer rt.mods.mu.Unlock()
	if len(rt.mods.byKey) != 0 || a.refs != 0 {
		t.Fatalf("after both ended: %d modules kept, refs %d", len(rt.mods.byKey), a.refs)
	}
}

// With a cache, a module it lacks starts on Winch's code at once while
// Cranelift's is compiled for the cache; the next runtime starts on
// Cranelift's, from the cache. Precompile puts Cranelift's there at once.
func TestCompileTiers(t *testing.T) {
	dir := t.TempDir()
	wasm := spinModule(t)
	first, err := NewRuntime(RuntimeConfig{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m, inst := moduleOf(t, first, wasm)
	if !m.quick || m.cached {
		t.Fatalf("first start: compiler %s, from the cache %v; want winch, compiled", m.compiler(), m.cached)
	}
	// The Winch code, then Cranelift's, reach the cache (beside the WASI
	// warm-up module's).
	key := sha256.Sum256(wasm)
	deadline := time.Now().Add(20 * time.Second)
	for _, fp := range []string{quickFingerprint, engineFingerprint} {
		for {
			if _, err := os.Stat(first.cache.path(fp, key)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the code of %s never reached the cache (%d entries)", fp, cacheEntries(t, dir))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	inst.Terminate()
	inst.Wait()
	first.Close()

	next, err := NewRuntime(RuntimeConfig{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	startAs(t, next, wasm, "cranelift", true, "next runtime")
	next.Close()

	// Precompile, into an empty cache.
	dir = t.TempDir()
	rt, err := NewRuntime(RuntimeConfig{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := rt.Precompile(wasm); err != nil {
		t.Fatal(err)
	}
	startAs(t, rt, wasm, "cranelift", true, "after Precompile")
	if err := rt.Precompile([]byte("not wasm")); err == nil {
		t.Fatal("Precompile of a file that is not wasm succeeded")
	}
	nocache, err := NewRuntime(RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer nocache.Close()
	if err := nocache.Precompile(wasm); err != errNoCache {
		t.Fatalf("Precompile without a cache: %v", err)
	}
}

// Nothing is written to the cache after Close, whatever compiles are
// still running (an embedder or a test may remove the directory then).
func TestNoCacheWriteAfterClose(t *testing.T) {
	rt, err := NewRuntime(RuntimeConfig{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	wrote := false
	rt.mods.write(func() { wrote = true })
	if !wrote {
		t.Fatal("a write before Close was dropped")
	}
	rt.Close()
	wrote = false
	rt.mods.write(func() { wrote = true })
	if wrote {
		t.Fatal("a background compile wrote to the cache after Close")
	}
}
