package e2e

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// A guest's maps are never pinned to bpffs, whatever their pinning
// attribute says, and a map pinned there is not reused: each run starts
// from a fresh map and leaves nothing behind.
func TestMapsAreNeverPinned(t *testing.T) {
	testenv.RequireBPF(t)
	const pin = "/sys/fs/bpf/wbpinned_map"
	if _, err := os.Stat("/sys/fs/bpf"); err != nil {
		testenv.Unavailable(t, "bpffs is not mounted at /sys/fs/bpf: %v", err)
	}
	os.Remove(pin)
	wasm := guestWasm(t, "pinned", []string{"pinned"})
	for run := 0; run < 2; run++ {
		g := startCLI(t, nil, wasm)
		// The second run would read 42 had the first run's map been
		// pinned and reused.
		g.waitLine("value 0", readyTimeout)
		if code := g.waitExit(exitTimeout); code != 0 {
			g.fatalf("exit %d", code)
		}
		if _, err := os.Stat(pin); !errors.Is(err, fs.ErrNotExist) {
			os.Remove(pin)
			g.fatalf("%s exists after the guest ended (stat: %v)", pin, err)
		}
	}
}
