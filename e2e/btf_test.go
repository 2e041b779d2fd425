package e2e

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// hideBTF is a command prefix that runs the rest of its command line in a
// mount namespace of its own where /sys/kernel/btf is an empty tmpfs, as on
// a kernel built without BTF. unshare(1) execs the shell, which execs the
// command: the test's signals reach it.
var hideBTF = []string{"unshare", "-m", "--propagation", "private", "sh", "-c",
	`mount -t tmpfs wbnobtf /sys/kernel/btf && exec "$0" "$@"`}

// TestCustomBTF: on a kernel that does not expose its BTF, a CO-RE guest
// runs with --btf FILE (the kernel's BTF in a file, as BTFHub users
// download it), and its relocations are right: each event's ppid, read
// through task->real_parent, is the test's pid. Without --btf the load
// fails and the CLI says that the kernel has no BTF and names --btf.
func TestCustomBTF(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "events", []string{"events"})
	btf := filepath.Join(t.TempDir(), "vmlinux.btf")
	copyFile(t, testenv.VmlinuxBTF, btf)
	cli := tc.CLIT(t)

	t.Run("without", func(t *testing.T) {
		g := startArgv(t, append(append([]string{}, hideBTF...), cli, wasm, "ring", "wbnever")...)
		if code := g.waitExit(readyTimeout); code == 0 {
			g.fatalf("the guest ran without kernel BTF")
		}
		for _, want := range []string{"the kernel has no BTF", "--btf FILE"} {
			if !strings.Contains(g.stderr.String(), want) {
				g.errorf("stderr lacks %q", want)
			}
		}
	})
	t.Run("with", func(t *testing.T) {
		id := runID()
		prefix, stop := "wbt"+id, "wbt"+id+"stop"
		g := startArgv(t, append(append([]string{}, hideBTF...), cli, "--btf", btf, wasm, "ring", stop)...)
		res := runEventsScenario(t, g, newSpawner(t), prefix, stop, 20)
		t.Logf("with --btf: %s", res)
	})
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("copying %s took %v", src, d.Round(time.Millisecond))
	}
}
