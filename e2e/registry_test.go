package e2e

import (
	"crypto/sha256"
	"encoding/hex"
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

// What a guest asks of the kernel travels on its label: push writes what
// inspect finds, and `run REF` refuses a guest whose label asks for more
// than the local policy grants before it fetches the module. Granted, the
// guest is fetched and its objects load.
func TestRegistryLabel(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "fdvictim", []string{"fdvictim"}) // an xdp/devmap program: needs "network"
	bin := tc.CLIT(t)
	home := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	reg := testenv.StartRegistry(t)
	ref := reg.Host + "/e2e/victim:v1"
	out, err := exec.Command(bin, "push", wasm, ref).CombinedOutput()
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	layer := "sha256:" + hex.EncodeToString(sha256Of(t, wasm))

	// Refused on its label: no GET of the module, and a line that says what
	// to grant.
	reg.ResetLog()
	cmd := exec.Command(bin, "--pull", "always", ref)
	refused, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("refused run: %v\n%s", err, refused)
	}
	want := `refused before fetching the module: its label says it needs network, which profile "observe" does not grant; run with --allow network`
	if !strings.Contains(string(refused), want) {
		t.Errorf("refused run printed\n%s\nwant %q", refused, want)
	}
	if reg.Fetched(layer) {
		t.Errorf("the module %s was fetched for a guest its label refuses; requests: %v", layer, reg.Requests())
	}

	// Granted: fetched, loaded, ready.
	g := startCLI(t, []string{"--allow", "network", "--pull", "always"}, ref)
	g.waitLine("ready", readyTimeout)
	if held := g.held(); len(named(held.progs, "wbfdv_prog")) != 1 || len(named(held.progs, "wbfdv_xdp")) != 1 {
		g.errorf("the granted guest holds %s, want programs wbfdv_prog and wbfdv_xdp", held)
	}
	if !reg.Fetched(layer) {
		t.Errorf("the granted guest's module was not fetched; requests: %v", reg.Requests())
	}
	g.sendLine("end")
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit %d", code)
	}

	// pull shows the label.
	pulled, err := exec.Command(bin, "pull", ref).CombinedOutput()
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, pulled)
	}
	for _, want := range []string{"Capabilities: network\n", "Programs: tp/sched/sched_process_exec/wbfdv_prog,xdp/devmap/wbfdv_xdp\n", "bpf_perf_event_output"} {
		if !strings.Contains(string(pulled), want) {
			t.Errorf("pull does not show %q:\n%s", want, pulled)
		}
	}

	// A label is only a claim: the same module pushed with none (as ecli
	// pushes) is fetched, and then refused at load, before the kernel sees
	// it.
	data, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	reg.PushEcli(t, "e2e/unlabelled", "v1", data)
	cmd = exec.Command(bin, reg.Host+"/e2e/unlabelled:v1")
	loadRefused, _ := cmd.CombinedOutput()
	want = `program "wbfdv_xdp" (section "xdp/devmap") is of kind xdp, which profile "observe" does not grant; run with --allow network`
	if !strings.Contains(string(loadRefused), want) || cmd.ProcessState.ExitCode() == 0 {
		t.Errorf("an unlabelled guest that needs network: exit %d\n%s\nwant %q", cmd.ProcessState.ExitCode(), loadRefused, want)
	}
}

func sha256Of(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return s[:]
}
