package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/oci"
)

// The registry commands against a real registry on 127.0.0.1, with WAT
// guests (no BPF needed): push, run by tag and by digest, images, offline
// runs, artifacts pushed by oras and as ecli pushes them, tampering,
// signatures, login.

// cmdline runs wasm-bpf in-process.
type cmdline struct {
	t     *testing.T
	stdin string
}

type result struct {
	code           int
	stdout, stderr string
}

func (c cmdline) run(args ...string) result {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"wasm-bpf"}, args...), strings.NewReader(c.stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// must runs and requires exit code want.
func (c cmdline) must(want int, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != want {
		c.t.Fatalf("wasm-bpf %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// isolate gives the test its own cache (compile cache and store) and
// Docker config.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	t.Setenv("COSIGN_PASSWORD", "pw")
	return home
}

var digestLine = regexp.MustCompile(`(?m)^Digest: (sha256:[0-9a-f]{64})$`)

func pushed(t *testing.T, r result, ref string) string {
	t.Helper()
	m := digestLine.FindStringSubmatch(r.stdout)
	if m == nil || !strings.HasPrefix(r.stdout, "Pushed "+ref+"\n") {
		t.Fatalf("push printed %q, want Pushed %s and its digest", r.stdout, ref)
	}
	return m[1]
}

const hello = "hello from the guest\n"

func TestRegistryPushRun(t *testing.T) {
	home := isolate(t)
	reg := testenv.StartRegistry(t)
	w := cmdline{t: t}
	mod := writeWat(t, home, "hello.wasm", helloWat)
	ref := reg.Host + "/guests/hello:v1"
	digest := pushed(t, w.must(0, "push", mod, ref), ref)
	byDigest := reg.Host + "/guests/hello@" + digest

	// By tag and by digest; the guest's argv[0] is the reference.
	for _, r := range []string{ref, byDigest} {
		if got := w.must(7, "run", r); got.stdout != hello {
			t.Errorf("run %s: stdout %q", r, got.stdout)
		}
	}
	if got := w.must(0, writeWat(t, home, "args.wasm", argsEnvWat)); !strings.Contains(got.stdout, "args.wasm") {
		t.Fatal(got.stdout)
	}
	argsRef := reg.Host + "/guests/args:v1"
	w.must(0, "push", filepath.Join(home, "args.wasm"), argsRef)
	if got := w.must(0, argsRef, "x"); got.stdout != argsRef+"\x00x\x00" {
		t.Errorf("argv of a registry guest: %q", got.stdout)
	}

	// images: what was pulled, by the reference it was pulled as.
	out := w.must(0, "images").stdout
	for _, want := range []string{
		`(?m)^REFERENCE\s+DIGEST\s+SIZE\s+CAPABILITIES$`,
		`(?m)^` + regexp.QuoteMeta(ref) + `\s+` + digest + `\s+\d+\s+-$`,
		`(?m)^` + regexp.QuoteMeta(byDigest) + `\s+` + digest + `\s`,
		`(?m)^` + regexp.QuoteMeta(argsRef) + `\s`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("images does not match %s:\n%s", want, out)
		}
	}

	// pull -o writes the module; it equals what was pushed.
	outFile := filepath.Join(home, "pulled.wasm")
	if got := w.must(0, "pull", "-o", outFile, ref); !strings.Contains(got.stdout, "Digest: "+digest) {
		t.Errorf("pull printed %q", got.stdout)
	}
	a, _ := os.ReadFile(mod)
	b, _ := os.ReadFile(outFile)
	if !bytes.Equal(a, b) {
		t.Error("pull -o wrote another module")
	}

	// Offline: by digest and by tag from the store; asking the registry
	// fails and says why.
	reg.Close()
	w.must(7, byDigest)
	w.must(7, "--pull", "never", byDigest)
	w.must(7, ref)
	if got := w.must(1, "--pull", "always", ref); !strings.Contains(got.stderr, "connection refused") {
		t.Errorf("--pull always offline: %s", got.stderr)
	}
	if got := w.must(1, "--pull", "never", reg.Host+"/guests/never:v1"); !strings.Contains(got.stderr, "not in the local store (--pull never") {
		t.Errorf("--pull never of a guest never pulled: %s", got.stderr)
	}
	if got := w.must(1, "--pull", "sometimes", ref); !strings.Contains(got.stderr, "want missing, always or never") {
		t.Errorf("--pull sometimes: %s", got.stderr)
	}
	// A missing file that does not look like a reference stays a file.
	if got := w.must(1, "guests/hello:v1"); !strings.Contains(got.stderr, "read module") {
		t.Errorf("a relative path: %s", got.stderr)
	}
}

// A registry guest whose module was changed on the way is refused, and
// nothing of it is kept; the store's copy, changed on disk, is fetched
// again (or refused offline), never run.
func TestRegistryTamper(t *testing.T) {
	home := isolate(t)
	reg := testenv.StartRegistry(t)
	w := cmdline{t: t}
	mod := writeWat(t, home, "hello.wasm", helloWat)
	ref := reg.Host + "/guests/tampered:v1"
	w.must(0, "push", mod, ref)
	wasm, _ := os.ReadFile(mod)
	layer := fmt.Sprintf("sha256:%x", sha256Sum(wasm))
	reg.Tamper(layer, func(b []byte) []byte {
		b = bytes.Clone(b)
		b[len(b)-1] ^= 0xff
		return b
	})
	got := w.must(1, ref)
	if got.stdout != "" || !strings.Contains(got.stderr, layer) || !strings.Contains(got.stderr, "refused") {
		t.Errorf("tampered module: stdout %q, stderr %q", got.stdout, got.stderr)
	}
	reg.Tamper(layer, func(b []byte) []byte { return b })
	w.must(7, ref)

	// Corrupt the store's copy.
	blob := filepath.Join(home, "cache", "wasm-bpf", "oci", "blobs", "sha256", strings.TrimPrefix(layer, "sha256:"))
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 0xff
	os.WriteFile(blob, data, 0o644)
	if got := w.must(1, "--pull", "never", ref); !strings.Contains(got.stderr, "does not match its digest") {
		t.Errorf("--pull never with a corrupt store: %s", got.stderr)
	}
	os.WriteFile(blob, data, 0o644)
	reg.ResetLog()
	got = w.must(7, ref)
	if !reg.Fetched(layer) || !strings.Contains(got.stderr, "refetching a corrupt blob") {
		t.Errorf("the corrupt module was not fetched again: %v\n%s", reg.Requests(), got.stderr)
	}
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// Guests pushed by other tools run: oras (built from the Go module proxy),
// in the spec's form and in its own default form, and an artifact as
// eunomia-bpf's `ecli push` writes it.
func TestRegistryOtherTools(t *testing.T) {
	home := isolate(t)
	oras := testenv.GoToolT(t, testenv.OrasPackage)
	reg := testenv.StartRegistry(t)
	w := cmdline{t: t}
	writeWat(t, home, "hello.wasm", helloWat)
	os.WriteFile(filepath.Join(home, "config.json"), []byte(`{"architecture":"wasm","os":"wasip1","layerDigests":[]}`), 0o644)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"oras-wasm-oci", []string{"--config", "config.json:" + oci.ConfigMediaType, "hello.wasm:" + oci.LayerMediaType}},
		{"oras-default", []string{"hello.wasm:" + oci.LayerMediaType}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ref := reg.Host + "/oras/" + tt.name + ":v1"
			cmd := exec.Command(oras, append([]string{"push", "--plain-http", "--disable-path-validation", ref}, tt.args...)...)
			cmd.Dir = home
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("oras push: %v\n%s", err, out)
			}
			if got := w.must(7, ref); got.stdout != hello {
				t.Errorf("stdout %q", got.stdout)
			}
		})
	}
	// oras without a media type gives an OCI tar layer media type: refused,
	// saying how to push it.
	ref := reg.Host + "/oras/untyped:v1"
	cmd := exec.Command(oras, "push", "--plain-http", ref, "hello.wasm")
	cmd.Dir = home
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oras push: %v\n%s", err, out)
	}
	if got := w.must(1, ref); !strings.Contains(got.stderr, "hello.wasm:application/wasm") && !strings.Contains(got.stderr, "guest.wasm:application/wasm") {
		t.Errorf("untyped oras artifact: %s", got.stderr)
	}

	t.Run("ecli", func(t *testing.T) {
		ref := reg.Host + "/ecli/hello:latest"
		wasm, _ := os.ReadFile(filepath.Join(home, "hello.wasm"))
		reg.PushEcli(t, "ecli/hello", "latest", wasm)
		if got := w.must(7, ref); got.stdout != hello {
			t.Errorf("stdout %q", got.stdout)
		}
	})
}

// --verify-key: a guest signed by the key starts; unsigned, or signed by
// another key, it does not, and the message says which.
func TestRegistrySignatures(t *testing.T) {
	home := isolate(t)
	reg := testenv.StartRegistry(t)
	w := cmdline{t: t}
	t.Chdir(home)
	mod := writeWat(t, home, "hello.wasm", helloWat)
	w.must(0, "generate-key-pair")
	w.must(0, "generate-key-pair", "--output-key-prefix", "other")
	if got := w.run("generate-key-pair"); got.code == 0 || !strings.Contains(got.stderr, "exists") {
		t.Errorf("generate-key-pair over existing keys: %d %s", got.code, got.stderr)
	}
	signed, unsigned := reg.Host+"/guests/signed:v1", reg.Host+"/guests/unsigned:v1"
	w.must(0, "push", mod, signed)
	w.must(0, "push", mod, reg.Host+"/guests/unsigned:v0") // same module, its own tag
	digest := pushed(t, w.must(0, "push", writeWat(t, home, "ok.wasm", `(module (memory (export "memory") 1) (func (export "_start")))`), unsigned), unsigned)
	got := w.must(0, "sign", "--key", "cosign.key", signed)
	if !strings.Contains(got.stdout, "Signed "+reg.Host+"/guests/signed@sha256:") || !strings.Contains(got.stdout, ".sig") {
		t.Errorf("sign printed %q", got.stdout)
	}

	if got := w.must(7, "--verify-key", "cosign.pub", signed); got.stdout != hello {
		t.Errorf("signed guest: %q", got.stdout)
	}
	for _, tt := range []struct {
		name, key, ref, want string
	}{
		{"wrong key", "other.pub", signed, "no signature by this key: 1 signature(s)"},
		{"unsigned", "cosign.pub", unsigned, "not signed: no cosign signature in " + reg.Host + "/guests/unsigned (looked for sha256-" + strings.TrimPrefix(digest, "sha256:") + ".sig)"},
	} {
		got := w.must(1, "--verify-key", tt.key, tt.ref)
		if got.stdout != "" || !strings.Contains(got.stderr, tt.want) || !strings.Contains(got.stderr, "not started (--verify-key "+tt.key+")") {
			t.Errorf("%s: stdout %q, stderr %q, want %q", tt.name, got.stdout, got.stderr, tt.want)
		}
	}
	if got := w.must(1, "--verify-key", "cosign.pub", mod); !strings.Contains(got.stderr, "carries no signature") {
		t.Errorf("--verify-key with a file: %s", got.stderr)
	}
	// A wrong password does not open the key.
	t.Setenv("COSIGN_PASSWORD", "wrong")
	if got := w.run("sign", "--key", "cosign.key", unsigned); got.code == 0 {
		t.Error("sign with a wrong password succeeded")
	}
	// Offline, the signature verified before is in the store.
	reg.Close()
	w.must(7, "--pull", "never", "--verify-key", "cosign.pub", signed)
	w.must(1, "--pull", "never", "--verify-key", "other.pub", signed)
}

func TestRegistryLogin(t *testing.T) {
	home := isolate(t)
	reg := testenv.StartRegistry(t)
	reg.RequireLogin("alice", "s3cret")
	mod := writeWat(t, home, "hello.wasm", helloWat)
	ref := reg.Host + "/private/hello:v1"
	w := cmdline{t: t}
	if got := w.must(1, "push", mod, ref); !strings.Contains(got.stderr, "wasm-bpf login "+reg.Host) {
		t.Errorf("push without credentials: %s", got.stderr)
	}
	if got := (cmdline{t: t, stdin: "wrong\n"}).must(1, "login", "-u", "alice", "--password-stdin", reg.Host); !strings.Contains(got.stderr, "401") {
		t.Errorf("login with a wrong password: %s", got.stderr)
	}
	if _, err := os.Stat(filepath.Join(home, ".docker", "config.json")); err == nil {
		t.Error("a failed login wrote the config")
	}
	(cmdline{t: t, stdin: "s3cret\n"}).must(0, "login", "-u", "alice", "--password-stdin", reg.Host)
	cfg, err := os.ReadFile(filepath.Join(home, ".docker", "config.json"))
	if err != nil || !strings.Contains(string(cfg), reg.Host) {
		t.Fatalf("config.json: %s %v", cfg, err)
	}
	w.must(0, "push", mod, ref)
	w.must(7, ref)
}

// BenchmarkPullAndStart: how long `wasm-bpf run` takes, start to exit, for
// a guest that exits at once: from a file (the baseline), from a registry on
// 127.0.0.1 with an empty local store (cold: manifest, config and module
// fetched, checked and stored), and from the store by digest (cached: no
// request). The compile cache is warm in all three, so the ratios are what
// the registry path adds. Sizes: a C guest's (80 KiB) and a Go guest's
// (2.8 MiB).
func BenchmarkPullAndStart(b *testing.B) {
	for _, size := range []int{80 << 10, 2800 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			home := b.TempDir()
			b.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
			b.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
			reg := testenv.StartRegistry(b)
			mod := filepath.Join(home, "guest.wasm")
			if err := os.WriteFile(mod, padded(b, helloWat, size), 0o644); err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			wb := func(want int, args ...string) time.Duration {
				out.Reset()
				start := time.Now()
				if code := run(append([]string{"wasm-bpf"}, args...), nil, &out, &out); code != want {
					b.Fatalf("wasm-bpf %v: exit %d\n%s", args, code, out.String())
				}
				return time.Since(start)
			}
			wb(0, "push", mod, reg.Host+"/bench/guest:v1")
			ref := reg.Host + "/bench/guest@" + digestLine.FindStringSubmatch(out.String())[1]
			store := filepath.Join(home, "cache", "wasm-bpf", "oci")
			wb(7, mod) // fills the compile cache
			var file, cold, cached time.Duration
			b.ResetTimer()
			for range b.N {
				file += wb(7, mod)
				os.RemoveAll(store)
				cold += wb(7, ref)
				cached += wb(7, ref)
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / 1e6 }
			b.ReportMetric(ms(file), "ms-file")
			b.ReportMetric(ms(cold), "ms-cold")
			b.ReportMetric(ms(cached), "ms-cached")
			b.ReportMetric(float64(cold)/float64(file), "cold/file")
			b.ReportMetric(float64(cached)/float64(file), "cached/file")
		})
	}
}

// padded is a WAT module with a custom section that makes it size bytes.
func padded(b *testing.B, wat string, size int) []byte {
	b.Helper()
	wasm, err := wasmtime.Wat2Wasm(wat)
	if err != nil {
		b.Fatal(err)
	}
	n := size - len(wasm) - 6 // section id, 4-byte length, name length
	payload := append([]byte{1, 'p'}, make([]byte, n-1)...)
	l := len(payload)
	// A 4-byte LEB128 section size: padding bits allowed by the format.
	sec := append([]byte{0, byte(l) | 0x80, byte(l>>7) | 0x80, byte(l>>14) | 0x80, byte(l >> 21)}, payload...)
	return append(wasm, sec...)
}

// Credentials in a credential helper: the Docker config names one
// (credsStore), login stores through it, and pushes and runs get from it.
func TestRegistryCredentialHelper(t *testing.T) {
	home := isolate(t)
	reg := testenv.StartRegistry(t)
	reg.RequireLogin("bob", "hunter2")
	// A helper speaking docker-credential-helpers' protocol: store reads
	// {"ServerURL","Username","Secret"} on stdin, get prints it back.
	bin := t.TempDir()
	store := filepath.Join(home, "helper-store.json")
	helper := `#!/bin/sh
case "$1" in
store) cat > "` + store + `" ;;
get) read url; if [ -s "` + store + `" ]; then cat "` + store + `"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) rm -f "` + store + `" ;;
list) echo '{}' ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-wbtest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	os.MkdirAll(filepath.Join(home, ".docker"), 0o700)
	os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(`{"credsStore":"wbtest"}`), 0o600)

	mod := writeWat(t, home, "hello.wasm", helloWat)
	ref := reg.Host + "/private/hello:v1"
	cmdline{t: t}.must(1, "push", mod, ref)
	(cmdline{t: t, stdin: "hunter2\n"}).must(0, "login", "-u", "bob", "--password-stdin", reg.Host)
	if b, _ := os.ReadFile(store); !strings.Contains(string(b), `"Secret":"hunter2"`) {
		t.Fatalf("the helper holds %q", b)
	}
	if cfg, _ := os.ReadFile(filepath.Join(home, ".docker", "config.json")); strings.Contains(string(cfg), "auth\"") {
		t.Errorf("the password went to config.json too: %s", cfg)
	}
	cmdline{t: t}.must(0, "push", mod, ref)
	cmdline{t: t}.must(7, ref)
}
