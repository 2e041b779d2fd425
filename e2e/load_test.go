package e2e

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
)

// slowProgs returns the ids of the programs of testdata/slow.bpf.c in the
// kernel that are not in base.
func slowProgs(t *testing.T, base map[int]bool) []int {
	var found []int
	for _, p := range kernelObjects(t, "prog") {
		if strings.HasPrefix(p.Name, "wbslow_") && !base[p.ID] {
			found = append(found, p.ID)
		}
	}
	return found
}

// waitSlowProgs waits until pred holds for the slow programs in the kernel.
func waitSlowProgs(t *testing.T, base map[int]bool, within time.Duration, what string, pred func([]int) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		progs := slowProgs(t, base)
		if pred(progs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (slow programs in the kernel: %v)", what, within, progs)
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
			base := ids(kernelObjects(t, "prog"))
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
			waitSlowProgs(t, base, 20*time.Second, "the load to be under way", func(p []int) bool { return len(p) > 0 })
			start := time.Now()
			if inst != nil {
				inst.Terminate()
			} else {
				g.signal(syscall.SIGTERM)
			}
			code := g.waitExit(exitTimeout)
			took := g.endedAt.Sub(start)
			t.Logf("%s to the end of the guest, %d of 16 programs loaded: %v", how, len(slowProgs(t, base)), took)
			if took > stopBound {
				g.errorf("the guest ended %v after %s", took, how)
			}
			if inst == nil && code != 143 {
				g.errorf("exit %d, want 143", code)
			}
			if g.stdout.String() != "" {
				g.errorf("the guest printed after it was stopped")
			}
			waitSlowProgs(t, base, 30*time.Second, "no slow program left in the kernel", func(p []int) bool { return len(p) == 0 })
		})
	}
}
