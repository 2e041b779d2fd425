package oci

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// keyPair makes a cosign-format key pair and loads both halves back.
func keyPair(t *testing.T, password string) (*PrivateKey, *PublicKey) {
	t.Helper()
	privPEM, pubPEM, err := GenerateKeyPair(cryptoutils.StaticPasswordFunc([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(privPEM, []byte("ENCRYPTED SIGSTORE PRIVATE KEY")) {
		t.Fatalf("the private key is not in cosign's encrypted format:\n%s", privPEM)
	}
	sv, err := LoadPrivateKey(privPEM, cryptoutils.StaticPasswordFunc([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	return sv, v
}

func TestKeys(t *testing.T) {
	privPEM, _, err := GenerateKeyPair(cryptoutils.StaticPasswordFunc([]byte("right")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKey(privPEM, cryptoutils.StaticPasswordFunc([]byte("wrong"))); err == nil {
		t.Error("a private key opened with the wrong password")
	}
	// An empty password still encrypts, as cosign does.
	privPEM, _, err = GenerateKeyPair(cryptoutils.StaticPasswordFunc(nil))
	if err != nil || !bytes.Contains(privPEM, []byte("ENCRYPTED")) {
		t.Fatalf("empty password: %v\n%s", err, privPEM)
	}
	if _, err := LoadPrivateKey(privPEM, cryptoutils.StaticPasswordFunc([]byte{})); err != nil {
		t.Error(err)
	}
	if _, err := LoadPublicKey([]byte("not a key")); err == nil {
		t.Error("LoadPublicKey accepted garbage")
	}
}

func TestSignVerify(t *testing.T) {
	reg := testenv.StartRegistry(t)
	c := newClient(t)
	ctx := context.Background()
	alice, aliceV := keyPair(t, "a")
	bob, bobV := keyPair(t, "b")
	_, malloryV := keyPair(t, "m")
	signed := push(t, c, module("signed"), reg.Host+"/guests/signed:v1", nil)
	unsigned := push(t, c, module("unsigned"), reg.Host+"/guests/unsigned:v1", nil)

	// Signing by tag signs the tag's digest.
	d, tag, err := c.Sign(ctx, reg.Host+"/guests/signed:v1", alice)
	if err != nil {
		t.Fatal(err)
	}
	if d != signed || tag.String() != reg.Host+"/guests/signed:sha256-"+strings.TrimPrefix(signed.DigestStr(), "sha256:")+".sig" {
		t.Fatalf("signed %s as %s", d, tag)
	}
	// The same key again adds nothing; another key adds a signature.
	c.Sign(ctx, signed.String(), alice)
	if _, _, err := c.Sign(ctx, signed.String(), bob); err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(tag)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := img.Manifest(); len(m.Layers) != 2 {
		t.Errorf("signature image has %d layers after alice, alice, bob; want 2", len(m.Layers))
	}

	tests := []struct {
		name string
		ref  string
		v    *PublicKey
		err  error
	}{
		{"alice", signed.String(), aliceV, nil},
		{"bob", signed.String(), bobV, nil},
		{"by-tag", reg.Host + "/guests/signed:v1", aliceV, nil},
		{"wrong-key", signed.String(), malloryV, ErrBadSignature},
		{"unsigned", unsigned.String(), aliceV, ErrUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t) // a fresh store: the registry's signatures
			g, err := c.Pull(ctx, tt.ref, PullOptions{VerifyKey: tt.v})
			if !errors.Is(err, tt.err) {
				t.Fatalf("pull: %v, want %v", err, tt.err)
			}
			if err == nil && len(g.Wasm) == 0 {
				t.Fatal("no module")
			}
			if err != nil && g != nil {
				t.Fatal("a guest came back with the error")
			}
		})
	}

	// A signature made for one manifest, copied under another's signature
	// tag, does not vouch for the other.
	body, _ := payload.Cosign{Image: signed}.MarshalJSON()
	sig, _ := alice.sign(body)
	copied, _ := mutate.Append(emptySignatures(), mutate.Addendum{
		Layer:       static.NewLayer(body, SimpleSigningMediaType),
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	if err := remote.Write(SignatureTag(unsigned), copied); err != nil {
		t.Fatal(err)
	}
	_, err = newClient(t).Pull(ctx, unsigned.String(), PullOptions{VerifyKey: aliceV})
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "is for "+signed.DigestStr()) {
		t.Errorf("a signature of another manifest: %v", err)
	}

	// Verified once, the signature is in the store: offline it still
	// verifies, and a wrong key still fails.
	c2 := newClient(t)
	if _, err := c2.Pull(ctx, signed.String(), PullOptions{VerifyKey: aliceV}); err != nil {
		t.Fatal(err)
	}
	reg.Close()
	if _, err := c2.Pull(ctx, signed.String(), PullOptions{VerifyKey: aliceV, Policy: PullNever}); err != nil {
		t.Errorf("offline verification: %v", err)
	}
	if _, err := c2.Pull(ctx, signed.String(), PullOptions{VerifyKey: malloryV, Policy: PullNever}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("offline verification with the wrong key: %v", err)
	}
	if _, err := c2.Pull(ctx, signed.String(), PullOptions{VerifyKey: aliceV}); err != nil {
		t.Errorf("offline verification, --pull missing: %v", err)
	}
}

// Every key type cosign signs with: sign, verify, and refuse a changed
// payload or another key.
func TestKeyTypes(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, priv := range []crypto.Signer{ec, rs, ed} {
		t.Run(fmt.Sprintf("%T", priv), func(t *testing.T) {
			der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(priv, cryptoutils.StaticPasswordFunc([]byte("pw")))
			if err != nil {
				t.Fatal(err)
			}
			k, err := LoadPrivateKey(cryptoutils.PEMEncode(cryptoutils.EncryptedSigstorePrivateKeyPEMType, der), cryptoutils.StaticPasswordFunc([]byte("pw")))
			if err != nil {
				t.Fatal(err)
			}
			pubPEM, _ := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
			pub, err := LoadPublicKey(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte(`{"critical":{}}`)
			sig, err := k.sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.verify(sig, msg); err != nil {
				t.Errorf("own signature: %v", err)
			}
			if pub.verify(sig, []byte(`{"critical":{"x":1}}`)) == nil {
				t.Error("a changed payload verified")
			}
			if (&PublicKey{other.Public()}).verify(sig, msg) == nil {
				t.Error("another key verified")
			}
		})
	}
}

func TestTooManySignatures(t *testing.T) {
	d, err := name.NewDigest("registry.example/x@sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	m := &v1.Manifest{Layers: make([]v1.Descriptor, maxSignatures+1)}
	fetch := func(v1.Descriptor) ([]byte, error) { t.Fatal("fetched a payload"); return nil, nil }
	if err := checkSignatures(m, fetch, d, nil); err == nil || !strings.Contains(err.Error(), "more than the 100") {
		t.Errorf("%d signature layers: %v", len(m.Layers), err)
	}
}
