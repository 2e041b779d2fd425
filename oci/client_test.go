package oci

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// newClient returns a client with its own store, and no credentials
// but what the test writes.
func newClient(t *testing.T) *Client {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	s, err := OpenStore(filepath.Join(t.TempDir(), "oci"))
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Store: s}
}

func push(t *testing.T, c *Client, wasm []byte, ref string, ann map[string]string) name.Digest {
	t.Helper()
	d, err := c.Push(context.Background(), wasm, ref, PushOptions{Annotations: ann})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPushPull(t *testing.T) {
	reg := testenv.StartRegistry(t)
	c := newClient(t)
	ctx := context.Background()
	wasm := module("push-pull")
	ref := reg.Host + "/guests/hello:v1"
	d := push(t, c, wasm, ref, map[string]string{AnnotationPrograms: "tp/x/y"})
	if !strings.HasPrefix(d.String(), reg.Host+"/guests/hello@sha256:") {
		t.Fatalf("Push returned %s", d)
	}

	// By tag: fetched from the registry; again: from the store.
	for i, wantFetched := range []bool{true, false} {
		g, err := c.Pull(ctx, ref, PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(g.Wasm, wasm) || g.Ref != d || g.Fetched != wantFetched || g.Annotations[AnnotationPrograms] != "tp/x/y" {
			t.Fatalf("pull %d: ref %s fetched %v annotations %v, module equal: %v", i, g.Ref, g.Fetched, g.Annotations, bytes.Equal(g.Wasm, wasm))
		}
	}
	// By digest: the blobs are in the store already.
	reg.ResetLog()
	g, err := c.Pull(ctx, d.String(), PullOptions{})
	if err != nil || !bytes.Equal(g.Wasm, wasm) || g.Fetched {
		t.Fatalf("pull by digest: %v (fetched %v)", err, g != nil && g.Fetched)
	}
	if log := reg.Requests(); len(log) != 0 {
		t.Errorf("a pull by digest of a stored guest asked the registry: %v", log)
	}

	// A new push under the same tag: missing keeps the stored tag, always
	// asks the registry.
	wasm2 := module("push-pull-2")
	d2 := push(t, c, wasm2, ref, nil)
	if g, _ := c.Pull(ctx, ref, PullOptions{}); g == nil || g.Ref != d {
		t.Errorf("--pull missing followed the registry's tag: %v", g)
	}
	if g, err := c.Pull(ctx, ref, PullOptions{Policy: PullAlways}); err != nil || g.Ref != d2 || !bytes.Equal(g.Wasm, wasm2) {
		t.Errorf("--pull always: %v, %v", g, err)
	}
	if g, _ := c.Pull(ctx, ref, PullOptions{}); g == nil || g.Ref != d2 {
		t.Errorf("the store's tag was not moved by --pull always: %v", g)
	}

	entries, err := c.Store.Entries()
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, e := range entries {
		refs = append(refs, e.Ref)
	}
	if want := []string{ref, d.String()}; fmt.Sprint(refs) != fmt.Sprint(want) {
		t.Errorf("store entries %v, want %v", refs, want)
	}

	// Offline: the registry is gone.
	reg.Close()
	for _, tt := range []struct {
		ref    string
		policy PullPolicy
		ok     bool
	}{
		{d.String(), PullMissing, true},
		{d.String(), PullNever, true},
		{ref, PullNever, true},
		{d.String(), PullAlways, false},
		{reg.Host + "/guests/other:v1", PullNever, false},
	} {
		g, err := c.Pull(ctx, tt.ref, PullOptions{Policy: tt.policy})
		if (err == nil) != tt.ok {
			t.Errorf("offline pull %s --pull %s: %v", tt.ref, tt.policy, err)
		}
		if err == nil && (g.Fetched || len(g.Wasm) == 0) {
			t.Errorf("offline pull %s: fetched %v", tt.ref, g.Fetched)
		}
		if tt.policy == PullNever && !tt.ok && !errors.Is(err, ErrNotFound) {
			t.Errorf("offline pull %s --pull never: %v, want ErrNotFound", tt.ref, err)
		}
	}
}

func TestPullRefusesTamperedLayer(t *testing.T) {
	reg := testenv.StartRegistry(t)
	c := newClient(t)
	wasm := module("tampered")
	ref := reg.Host + "/guests/tampered:v1"
	push(t, c, wasm, ref, nil)
	layer := digestOf(wasm)
	reg.Tamper(layer.String(), func(b []byte) []byte {
		b = bytes.Clone(b)
		b[len(b)-1] ^= 1 // same size, different digest
		return b
	})
	_, err := c.Pull(context.Background(), ref, PullOptions{})
	if err == nil || !strings.Contains(err.Error(), layer.String()) {
		t.Fatalf("pull of a tampered layer: %v, want a refusal naming %s", err, layer)
	}
	if _, err := c.Store.Get(layer); !errors.Is(err, ErrNotFound) {
		t.Errorf("the tampered layer reached the store: %v", err)
	}
	if _, err := c.Store.Resolve(ref); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused guest was tagged in the store: %v", err)
	}
}

func TestPullCorruptStore(t *testing.T) {
	reg := testenv.StartRegistry(t)
	c := newClient(t)
	ctx := context.Background()
	wasm := module("corrupt")
	d := push(t, c, wasm, reg.Host+"/guests/corrupt:v1", nil)
	if _, err := c.Pull(ctx, d.String(), PullOptions{}); err != nil {
		t.Fatal(err)
	}
	corrupt := func(h v1.Hash) {
		path := filepath.Join(c.Store.Dir(), "blobs", "sha256", h.Hex)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-1] ^= 1
		os.WriteFile(path, b, 0o644)
	}
	// Never: refused, never run.
	corrupt(digestOf(wasm))
	if _, err := c.Pull(ctx, d.String(), PullOptions{Policy: PullNever}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("--pull never with a corrupt module: %v", err)
	}
	// Missing: fetched again (the refusal deleted the corrupt copy).
	reg.ResetLog()
	g, err := c.Pull(ctx, d.String(), PullOptions{})
	if err != nil || !bytes.Equal(g.Wasm, wasm) || !g.Fetched {
		t.Fatalf("--pull missing with a corrupt module: %v", err)
	}
	if !reg.Fetched(digestOf(wasm).String()) {
		t.Errorf("the module was not fetched again: %v", reg.Requests())
	}
	// A corrupt manifest is fetched again too.
	corrupt(hashOf(t, d))
	if g, err := c.Pull(ctx, d.String(), PullOptions{}); err != nil || !bytes.Equal(g.Wasm, wasm) {
		t.Fatalf("--pull missing with a corrupt manifest: %v", err)
	}
}

func hashOf(t *testing.T, d name.Digest) v1.Hash {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The admission hook sees the manifest's annotations, and a refusal stops
// the pull before the module (or anything but the manifest) is fetched.
func TestAdmit(t *testing.T) {
	reg := testenv.StartRegistry(t)
	c := newClient(t)
	ctx := context.Background()
	wasm := module("admit")
	ref := reg.Host + "/guests/admit:v1"
	d := push(t, c, wasm, ref, map[string]string{
		AnnotationPrograms:     JoinList([]string{"tracepoint/sched/sched_process_exec", "xdp/xdp_pass"}),
		AnnotationCapabilities: JoinList([]string{"tracing", "net_admin"}),
	})
	m, _, _ := parseManifest(mustGet(t, c, d), "")
	// Refuse what asks for net_admin: pure logic, the test's own policy.
	refuse := func(ann map[string]string) error {
		for _, cap := range SplitList(ann[AnnotationCapabilities]) {
			if cap == "net_admin" {
				return errors.New("asks for net_admin, which the policy does not grant")
			}
		}
		return nil
	}
	reg.ResetLog()
	_, err := c.Pull(ctx, ref, PullOptions{Admit: refuse})
	if err == nil || !strings.Contains(err.Error(), "refused before fetching the module: asks for net_admin") {
		t.Fatalf("pull with a refusing Admit: %v", err)
	}
	for _, blob := range []v1.Hash{digestOf(wasm), m.Config.Digest} {
		if reg.Fetched(blob.String()) {
			t.Errorf("blob %s was fetched although the guest was refused: %v", blob, reg.Requests())
		}
	}
	if !slicesContains(reg.Requests(), "GET /v2/guests/admit/manifests/v1") {
		t.Errorf("the manifest was not fetched: %v", reg.Requests())
	}
	if _, err := c.Store.Get(digestOf(wasm)); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused module is in the store: %v", err)
	}

	// Admitted: the same hook, a guest without net_admin; and the store's
	// copy is judged again (a refusal holds offline too).
	var seen map[string]string
	ok := func(ann map[string]string) error { seen = ann; return refuse(ann) }
	ref2 := reg.Host + "/guests/admit:v2"
	push(t, c, wasm, ref2, map[string]string{AnnotationCapabilities: "tracing"})
	if _, err := c.Pull(ctx, ref2, PullOptions{Admit: ok}); err != nil {
		t.Fatal(err)
	}
	if seen[AnnotationCapabilities] != "tracing" {
		t.Errorf("Admit saw %v", seen)
	}
	if _, err := c.Pull(ctx, ref, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pull(ctx, ref, PullOptions{Policy: PullNever, Admit: refuse}); err == nil {
		t.Error("a stored guest was not judged by Admit")
	}
}

func slicesContains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func mustGet(t *testing.T, c *Client, d name.Digest) []byte {
	t.Helper()
	rd, err := remote.Get(d, c.options(context.Background())...)
	if err != nil {
		t.Fatal(err)
	}
	return rd.Manifest
}

// An artifact as eunomia-bpf's `ecli push` writes it.
func TestPullEcliArtifact(t *testing.T) {
	reg := testenv.StartRegistry(t)
	c := newClient(t)
	wasm := module("ecli")
	manifest := reg.PushEcli(t, "ecli/guest", "latest", wasm)
	g, err := c.Pull(context.Background(), reg.Host+"/ecli/guest:latest", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.Wasm, wasm) || g.Ref.DigestStr() != digestOf(manifest).String() {
		t.Errorf("pulled %s, module equal %v", g.Ref, bytes.Equal(g.Wasm, wasm))
	}
}

func TestLogin(t *testing.T) {
	reg := testenv.StartRegistry(t)
	reg.RequireLogin("alice", "s3cret")
	c := newClient(t)
	ref := reg.Host + "/private/guest:v1"
	_, err := c.Push(context.Background(), module("login"), ref, PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "wasm-bpf login "+reg.Host) {
		t.Fatalf("push without credentials: %v, want the hint to log in", err)
	}
	// The Docker config, as `docker login` (and `wasm-bpf login`) write it.
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.Host, auth)
	dir := os.Getenv("DOCKER_CONFIG")
	os.MkdirAll(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Push(context.Background(), module("login"), ref, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pull(context.Background(), ref, PullOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	next := roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusTeapot, Body: http.NoBody}, nil
	})
	tests := []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"http://127.0.0.1:5000/v2/", false, true},
		{"http://localhost:5000/v2/", false, true},
		{"http://[::1]:5000/v2/", false, true},
		{"https://registry.example/v2/", false, true},
		{"http://10.1.2.3:5000/v2/", false, false},
		{"http://192.168.1.1/v2/", false, false},
		{"http://registry.example/v2/", false, false},
		{"http://registry.example/v2/", true, true},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
		resp, err := plainHTTPGuard{next: next, insecure: tt.insecure}.RoundTrip(req)
		if (err == nil) != tt.ok {
			t.Errorf("%s (insecure %v): %v", tt.url, tt.insecure, err)
		}
		if err == nil {
			resp.Body.Close()
		} else if !strings.Contains(err.Error(), "--insecure") {
			t.Errorf("the refusal does not name the way out: %v", err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestIsReference(t *testing.T) {
	tests := map[string]bool{
		"localhost:5000/a/b:v1": true,
		"localhost/a":           true,
		"127.0.0.1:5000/guest":  true,
		"ghcr.io/org/tool:1.0":  true,
		"docker.io/library/x@sha256:" + strings.Repeat("a", 64): true,
		"guest.wasm":                false,
		"./x/y.wasm":                false,
		"../x.wasm":                 false,
		"examples/bootstrap/b.wasm": false,
		"/abs/path.wasm":            false,
		"user/repo:tag":             false, // Docker Hub's short form: give docker.io/
		"ghcr.io/":                  false,
		"ghcr.io/UPPER:tag":         false,
	}
	for s, want := range tests {
		if got := IsReference(s); got != want {
			t.Errorf("IsReference(%q) = %v, want %v", s, got, want)
		}
	}
}
