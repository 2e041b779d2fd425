package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// A BPF guest's life through a registry with the CLI: push, sign, and run
// by reference with --verify-key against the kernel; then offline, by
// digest, from the local store.
func TestRegistryGuest(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "events", []string{"events"})
	bin := tc.CLIT(t)
	home := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	t.Setenv("COSIGN_PASSWORD", "e2e")
	reg := testenv.StartRegistry(t)
	wb := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = home
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("wasm-bpf %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	ref := reg.Host + "/e2e/events:v1"
	m := regexp.MustCompile(`Digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(wb("push", wasm, ref))
	if m == nil {
		t.Fatal("push printed no digest")
	}
	byDigest := reg.Host + "/e2e/events@" + m[1]
	wb("generate-key-pair")
	wb("sign", "--key", "cosign.key", ref)
	key := filepath.Join(home, "cosign.pub")

	run := func(ref string, flags ...string) {
		t.Helper()
		id := runID()
		stop := "wbreg" + id + "s"
		sp := newSpawner(t)
		g := startCLI(t, append(flags, "--verify-key", key), ref, "ring", stop)
		g.waitLine("ready", readyTimeout)
		sp.run(stop)
		g.waitFor("done", eventTimeout, func(ls []line) int {
			return slices.IndexFunc(ls, func(l line) bool { return strings.HasPrefix(l.text, "done ") })
		})
		if code := g.waitExit(exitTimeout); code != 0 {
			g.fatalf("exit %d", code)
		}
	}
	run(ref)
	reg.Close()
	run(byDigest, "--pull", "never")
	if _, err := os.Stat(filepath.Join(home, "cache", "wasm-bpf", "oci", "index.json")); err != nil {
		t.Errorf("no local store: %v", err)
	}
}
