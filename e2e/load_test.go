package e2e

import (
	"encoding/binary"
	"maps"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
)

// waitSlowProgs waits until pred holds for the programs the loader guest
// holds (it loads testdata/slow.bpf.c and nothing else), and adds them to
// seen.
func waitSlowProgs(t *testing.T, g *guest, seen bpfObjs, within time.Duration, what string, pred func(map[int]string) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		progs := g.held().progs
		maps.Copy(seen.progs, progs)
		if pred(progs) {
			return
		}
		if time.Now().After(deadline) {
			g.fatalf("%s: not within %v (the guest holds programs %v)", what, within, progs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A guest stopped while the verifier works through its object (16
// programs, seconds in all) ends at once; the load finishes in the
// background and closes what it made, so nothing stays in the kernel.
// (SIGTERM waited for the whole load: the runtime exited seconds later.)
func TestStopDuringSlowLoad(t *testing.T) {
	rt, _ := lifecycleRuntime(t)
	wasm := guestWasm(t, "loader", nil)
	obj, err := os.ReadFile(tc.BPFObjectT(t, filepath.Join("testdata", "slow.bpf.c")))
	if err != nil {
		t.Fatal(err)
	}
	frame := append(binary.LittleEndian.AppendUint32(nil, uint32(len(obj))), obj...)
	for _, how := range []string{"SIGTERM", "Terminate"} {
		t.Run(how, func(t *testing.T) {
			var g *guest
			var inst *host.Instance
			if how == "SIGTERM" {
				g = startCLI(t, nil, wasm)
			} else {
				g, inst = startInstance(t, rt, wasm)
			}
			if _, err := g.stdin.Write(frame); err != nil {
				t.Fatal(err)
			}
			seen := bpfObjs{progs: map[int]string{}}
			waitSlowProgs(t, g, seen, 20*time.Second, "the load to be under way", func(p map[int]string) bool { return len(p) > 0 })
			start := time.Now()
			if inst != nil {
				inst.Terminate()
			} else {
				g.signal(syscall.SIGTERM)
			}
			code := g.waitExit(exitTimeout)
			took := g.endedAt.Sub(start)
			t.Logf("%s to the end of the guest, %d of 16 programs loaded when it was sent: %v", how, len(seen.progs), took)
			if took > stopBound {
				g.errorf("the guest ended %v after %s", took, how)
			}
			if inst == nil && code != 143 {
				g.errorf("exit %d, want 143", code)
			}
			if g.stdout.String() != "" {
				g.errorf("the guest printed after it was stopped")
			}
			// In this process the load goes on: it must close all it made
			// once it ends. (A CLI guest's process has ended, and its fds
			// with it.)
			if inst != nil {
				waitSlowProgs(t, g, seen, 30*time.Second, "the background load to close its programs", func(p map[int]string) bool { return len(p) == 0 })
			}
			assertGone(t, g, seen)
		})
	}
}
