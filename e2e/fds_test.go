package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// startLimited runs the CLI with the process's file descriptor limit (soft
// and hard) set to nofile, by the shell's ulimit: sh is on every host and
// in scripts/kernel-matrix.sh's VMs (busybox), where prlimit(1) is not.
func startLimited(t *testing.T, nofile string, flags []string, wasm string, args ...string) *guest {
	t.Helper()
	argv := append(append(append([]string{"-c", `ulimit -n "$0" && exec "$@"`, nofile, tc.CLIT(t)}, flags...), wasm), args...)
	return startCommand(t, "ulimit -n "+nofile+"; "+strings.Join(argv[3:], " "), exec.Command("sh", argv...))
}

// A guest that makes the host hold file descriptors until the process has
// none left still writes to stdout afterwards and exits as it means to:
// what the runtime needs to serve it exists before it runs. (wasmtime
// created its WASI state at the guest's first write after that, failed
// with EMFILE, and aborted the process.)
func TestFDExhaustionLeavesTheHostStanding(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "exhaust", []string{"exhaust"})
	for _, mode := range []string{"sockets", "objects"} {
		t.Run(mode, func(t *testing.T) {
			g := startLimited(t, "100", []string{"--max-fds", "-1"}, wasm, mode, "3")
			code := g.waitExit(exitTimeout)
			g.waitLine("line 2", 0)
			if code != 0 {
				g.fatalf("exit %d, want 0", code)
			}
			t.Logf("%s", g.stdout.snapshot()[0].text)
		})
	}
}

// --max-fds bounds what one guest makes the host hold, long before the
// process runs out: the attach or load past it is refused, the log names
// the limit, and the guest goes on.
func TestMaxFDs(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "exhaust", []string{"exhaust"})
	for _, c := range []struct{ mode, want string }{
		// The object holds 4 descriptors (a map, a program, BTF, and the
		// ring buffer's epoll instance when it is polled), a socket 1.
		{"sockets", "attached 60 -24"},
		{"objects", "objects 16 0"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			g := startCLI(t, []string{"--max-fds", "64"}, wasm, c.mode)
			if code := g.waitExit(exitTimeout); code != 0 {
				g.fatalf("exit %d, want 0", code)
			}
			g.waitLine(c.want, 0)
			g.waitLine("still writing", 0)
			if !strings.Contains(g.stderr.String(), "max_fds=64") {
				g.errorf("the log does not name the limit (max_fds=64)")
			}
		})
	}
}

// An object that needs more descriptors than --max-fds allows is refused
// before anything of it is created, so one object cannot take the
// process's descriptors from everyone else. (The limit was checked once
// the object had loaded: an object of 256 maps ran the process out of
// descriptors first, and libbpf's load failed with EMFILE.)
func TestMaxFDsBeforeLoad(t *testing.T) {
	testenv.RequireBPF(t)
	g := startLimited(t, "200", []string{"--max-fds", "64"}, policyGuest(t, "MANYMAPS"), "wbpol_plain")
	g.waitLine("load refused", readyTimeout)
	g.sendLine("end")
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit %d, want 0", code)
	}
	want := "load refused: the object needs 260 file descriptors and the guest holds 0 of the 64 it may, max_fds=64 (wasm-bpf --max-fds)"
	if !strings.Contains(g.stderr.String(), want) {
		g.fatalf("the log does not say %q", want)
	}
}
