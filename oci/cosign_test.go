package oci

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// The real cosign CLI (built from the Go module proxy) and this package
// agree: on keys both ways, on signatures both ways, with cosign's own
// verification rules for key pairs without a transparency log.
func TestCosignInterop(t *testing.T) {
	cosign := testenv.GoToolT(t, testenv.CosignPackage)
	reg := testenv.StartRegistry(t)
	c := newClient(t)
	ctx := context.Background()
	dir := t.TempDir()
	const password = "interop"
	env := append(os.Environ(), "COSIGN_PASSWORD="+password, "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"))
	run := func(args ...string) (string, error) {
		cmd := exec.Command(cosign, args...)
		cmd.Dir = dir
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	// An empty trusted root: nothing to trust but the key, and no reason
	// for cosign to look for sigstore's on the network.
	trustedRoot := filepath.Join(dir, "trusted_root.json")
	os.WriteFile(trustedRoot, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644)
	verify := func(key, ref string) (string, error) {
		return run("verify", "--key", key, "--insecure-ignore-tlog=true", "--trusted-root", trustedRoot, "--allow-http-registry", ref)
	}

	// Keys: cosign's open with ours, ours with cosign's.
	mustRun("generate-key-pair")
	theirPriv, _ := os.ReadFile(filepath.Join(dir, "cosign.key"))
	theirPub, _ := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	if _, err := LoadPrivateKey(theirPriv, cryptoutils.StaticPasswordFunc([]byte(password))); err != nil {
		t.Fatalf("cosign's private key: %v", err)
	}
	theirV, err := LoadPublicKey(theirPub)
	if err != nil {
		t.Fatalf("cosign's public key: %v", err)
	}
	ourPriv, ourPub, err := GenerateKeyPair(cryptoutils.StaticPasswordFunc([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ours.key"), ourPriv, 0o600)
	os.WriteFile(filepath.Join(dir, "ours.pub"), ourPub, 0o644)
	ourSV, _ := LoadPrivateKey(ourPriv, cryptoutils.StaticPasswordFunc([]byte(password)))
	ourV, _ := LoadPublicKey(ourPub)

	sign := func(key, ref string) string {
		return mustRun("sign", "--key", key, "--tlog-upload=false", "--allow-http-registry", "--yes", ref)
	}

	// cosign signs (its key, then ours); we verify.
	byCosign := push(t, c, module("cosign-signs"), reg.Host+"/interop/a:v1", nil)
	sign("cosign.key", byCosign.String())
	if _, err := newClient(t).Pull(ctx, byCosign.String(), PullOptions{VerifyKey: theirV}); err != nil {
		t.Errorf("a cosign signature does not verify with us: %v", err)
	}
	if _, err := newClient(t).Pull(ctx, byCosign.String(), PullOptions{VerifyKey: ourV}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a cosign signature by another key: %v, want ErrBadSignature", err)
	}
	withOurKey := push(t, c, module("cosign-signs-ours"), reg.Host+"/interop/b:v1", nil)
	sign("ours.key", withOurKey.String())
	if _, err := newClient(t).Pull(ctx, withOurKey.String(), PullOptions{VerifyKey: ourV}); err != nil {
		t.Errorf("cosign signing with our key file: %v", err)
	}

	// We sign; cosign verifies, and refuses another key and an unsigned
	// guest as we do.
	byUs := push(t, c, module("we-sign"), reg.Host+"/interop/c:v1", nil)
	if _, _, err := c.Sign(ctx, byUs.String(), ourSV); err != nil {
		t.Fatal(err)
	}
	if out, err := verify("ours.pub", byUs.String()); err != nil || !strings.Contains(out, byUs.DigestStr()) {
		t.Errorf("cosign verify of our signature: %v\n%s", err, out)
	}
	if out, err := verify("cosign.pub", byUs.String()); err == nil {
		t.Errorf("cosign verified our signature with another key:\n%s", out)
	}
	unsigned := push(t, c, module("nobody-signs"), reg.Host+"/interop/d:v1", nil)
	if out, err := verify("ours.pub", unsigned.String()); err == nil {
		t.Errorf("cosign verified an unsigned guest:\n%s", out)
	}
	// Both signatures on one guest: each tool finds the one by its key.
	sign("cosign.key", byUs.String())
	if out, err := verify("cosign.pub", byUs.String()); err != nil {
		t.Errorf("cosign verify after both signed: %v\n%s", err, out)
	}
	for _, v := range []struct {
		name string
		ok   bool
	}{{"ours", true}, {"theirs", true}} {
		vv := ourV
		if v.name == "theirs" {
			vv = theirV
		}
		if _, err := newClient(t).Pull(ctx, byUs.String(), PullOptions{VerifyKey: vv}); (err == nil) != v.ok {
			t.Errorf("%s key after both signed: %v", v.name, err)
		}
	}
}
