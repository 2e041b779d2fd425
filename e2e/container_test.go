package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/wasm-bpf/wasm-bpf/internal/releaseimage"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// What the README's container section gives the container, and no more:
// these capabilities on top of a runtime's defaults, and these host
// directories bound in at the same place.
var (
	containerCaps   = []string{"CAP_BPF", "CAP_PERFMON"}
	containerMounts = []string{"/sys/kernel/tracing", "/sys/fs/bpf"}
)

// The release image, built without Docker from the static binary
// (releaseimage, as the Dockerfile builds it), pushed to a registry, pulled
// back, unpacked by umoci and run by runc with the README's privileges and
// mounts: the bootstrap guest inside prints real exec lines, and when the
// container is stopped nothing it loaded is left in the kernel.
//
// It needs the static binary: $WASM_BPF_STATIC (scripts/test.sh sets it to
// dist/wasm-bpf), else it runs scripts/build-static.sh.
func TestReleaseImage(t *testing.T) {
	testenv.RequireBPF(t)
	runc := lookCmd(t, "runc", "/usr/sbin/runc")
	umoci := lookCmd(t, "umoci", "/usr/bin/umoci")
	bin := staticBinary(t)
	guest := filepath.Join(tc.RepoRoot(), "examples", "bootstrap", "bootstrap.wasm")
	if _, err := os.Stat(guest); err != nil {
		if out, err := exec.Command("make", "-s", "-C", filepath.Join(tc.RepoRoot(), "examples", "bootstrap"), "WASM_BPF="+bin).CombinedOutput(); err != nil {
			t.Fatalf("make examples/bootstrap: %v\n%s", err, out)
		}
	}
	dir := t.TempDir()

	// Build, push, pull back into an OCI layout, unpack.
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	img, err := releaseimage.Build(data, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	reg := testenv.StartRegistry(t)
	ref, err := name.ParseReference(reg.Host + "/wasm-bpf:test")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push the image: %v", err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pull the image: %v", err)
	}
	digest, _ := pulled.Digest()
	if want, _ := img.Digest(); digest != want {
		t.Fatalf("pulled %s, pushed %s", digest, want)
	}
	lp, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(pulled, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "test"})); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	if out, err := exec.Command(umoci, "unpack", "--image", filepath.Join(dir, "layout")+":test", bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	caps := configureBundle(t, bundle, guest)
	t.Logf("image %s@%s (%d MiB binary), run with %v and %v bound in", ref, digest, len(data)>>20, caps, containerMounts)

	// Run; find what it loaded through the fds its process holds (other
	// tests on this machine run the same guest).
	id := "wbimg-" + runID()
	t.Cleanup(func() { exec.Command(runc, "delete", "--force", id).Run() })
	g := startCommand(t, "runc run "+id, exec.Command(runc, "run", "--bundle", bundle, id))
	g.waitFor("the bootstrap header", readyTimeout, func(ls []line) int {
		return slices.IndexFunc(ls, func(l line) bool { return strings.HasPrefix(l.text, "TIME ") })
	})
	held := heldBy(t, containerPid(t, runc, id))
	if progs := slices.Collect(maps.Values(held.progs)); !slices.Contains(progs, "handle_exec") || !slices.Contains(progs, "handle_exit") {
		g.fatalf("the container's process holds %s, want programs handle_exec and handle_exit", held)
	}

	sp := newSpawner(t)
	probe := "wbimg" + runID()
	execLine := regexp.MustCompile(`^\d\d:\d\d:\d\d EXEC  ` + probe + `\s+\d+\s+\d+\s+` + regexp.QuoteMeta(sp.path(probe)) + `$`)
	i := g.waitFor("an EXEC line of "+probe, eventTimeout, func(ls []line) int {
		sp.run(probe)
		return slices.IndexFunc(ls, func(l line) bool { return execLine.MatchString(l.text) })
	})
	t.Logf("inside the container: %s", g.stdout.snapshot()[i].text)

	if out, err := exec.Command(runc, "kill", id, "TERM").CombinedOutput(); err != nil {
		g.fatalf("runc kill: %v %s", err, out)
	}
	if code := g.waitExit(exitTimeout); code != 128+int(syscall.SIGTERM) {
		g.fatalf("container exit %d after SIGTERM, want 143", code)
	}
	assertGone(t, g, held)
	t.Logf("stopped (exit 143); gone from the kernel: %s", held)
}

func lookCmd(t *testing.T, name, fallback string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if _, err := os.Stat(fallback); err == nil {
		return fallback
	}
	testenv.Unavailable(t, "%s not found (scripts/deps.sh installs it)", name)
	return ""
}

// staticBinary is the release binary: $WASM_BPF_STATIC, or built now.
func staticBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WASM_BPF_STATIC"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "wasm-bpf")
	start := time.Now()
	cmd := exec.Command("bash", filepath.Join(tc.RepoRoot(), "scripts", "build-static.sh"), out)
	cmd.Dir = tc.RepoRoot()
	cmd.Env = append(os.Environ(), "SKIP_GUEST_RUN=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-static.sh: %v\n%s", err, b)
	}
	t.Logf("built the static binary in %v (set WASM_BPF_STATIC to reuse one)", time.Since(start).Round(time.Second))
	return out
}

// configureBundle edits the runtime config umoci wrote: the guest as the
// argument, no terminal, the README's capabilities added to umoci's
// defaults, the README's mounts and the module bound in. It returns the
// capabilities.
func configureBundle(t *testing.T, bundle, guest string) []string {
	t.Helper()
	path := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	proc := cfg["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{releaseimage.Path, "/bootstrap.wasm"}
	var caps []string
	for set, list := range proc["capabilities"].(map[string]any) {
		var have []string
		for _, c := range list.([]any) {
			have = append(have, c.(string))
		}
		have = append(have, containerCaps...)
		slices.Sort(have)
		have = slices.Compact(have)
		proc["capabilities"].(map[string]any)[set] = have
		caps = have
	}
	mounts := cfg["mounts"].([]any)
	for _, m := range containerMounts {
		mounts = append(mounts, map[string]any{"destination": m, "type": "bind", "source": m, "options": []string{"rbind", "rw"}})
	}
	mounts = append(mounts, map[string]any{"destination": "/bootstrap.wasm", "type": "bind", "source": guest, "options": []string{"bind", "ro"}})
	cfg["mounts"] = mounts
	raw, err = json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return caps
}

func containerPid(t *testing.T, runc, id string) int {
	t.Helper()
	out, err := exec.Command(runc, "state", id).Output()
	if err != nil {
		t.Fatalf("runc state %s: %v", id, err)
	}
	var st struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Pid == 0 {
		t.Fatalf("runc state %s: %v %s", id, err, out)
	}
	return st.Pid
}
