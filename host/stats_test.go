package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
)

// A guest's Wasm time and memory are counted while it runs; the compile
// cache counts a miss, then, in a runtime that shares no module with the
// first (a module shared with a running guest or background compile
// consults no cache), a hit for the same module.
func TestStats(t *testing.T) {
	dir := t.TempDir()
	rt, err := host.NewRuntime(host.RuntimeConfig{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	wasm := wat(t, tickerWat)
	var out syncBuffer
	inst, err := rt.Start(context.Background(), wasm, host.Config{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	waitGrowth(t, &out, 0, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for s := inst.Stats(); s.CPUTime < 50*time.Millisecond || s.Memory != 65536; s = inst.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats of a guest running Wasm: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	inst.Terminate()
	inst.Wait()
	if s := inst.Stats(); s.Memory != 0 || s.CPUTime == 0 || s.Objects != 0 {
		t.Errorf("stats of an ended guest: %+v", s)
	}
	if hits, misses := rt.CacheStats(); hits != 0 || misses != 1 {
		t.Errorf("cache after one start: %d hits, %d misses", hits, misses)
	}
	if err := rt.Precompile(wasm); err != nil {
		t.Fatal(err)
	}
	rt2, err := host.NewRuntime(host.RuntimeConfig{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer rt2.Close()
	inst, err = rt2.Start(context.Background(), wasm, host.Config{})
	if err != nil {
		t.Fatal(err)
	}
	inst.Terminate()
	inst.Wait()
	if hits, misses := rt2.CacheStats(); hits != 1 || misses != 0 {
		t.Errorf("cache of a second runtime after a start: %d hits, %d misses", hits, misses)
	}
}
