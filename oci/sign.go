package oci

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Cosign's names for a signature.
const (
	// SimpleSigningMediaType is the media type of a signature layer: the
	// signed payload, which names the manifest digest it vouches for.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds a layer's signature, base64.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
)

// Why a required signature is missing.
var (
	// ErrUnsigned: the registry (or, with PullNever, the store) has no
	// signature for the manifest.
	ErrUnsigned = errors.New("not signed")
	// ErrBadSignature: there are signatures, and none is by the key for
	// this manifest.
	ErrBadSignature = errors.New("no signature by this key")
)

// SignatureTag is where cosign keeps the signatures of d:
// REPO:sha256-HEX.sig.
func SignatureTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
}

// Sign signs the manifest ref names (a tag is resolved to its digest first)
// with key, and adds the signature to the signature image in the registry.
// It returns the signed digest and the signature image's tag.
func (c *Client) Sign(ctx context.Context, ref string, key *PrivateKey) (name.Digest, name.Tag, error) {
	r, err := c.ParseReference(ref)
	if err != nil {
		return name.Digest{}, name.Tag{}, err
	}
	opts := c.options(ctx)
	rd, err := remote.Get(r, opts...)
	if err != nil {
		return name.Digest{}, name.Tag{}, fmt.Errorf("sign %s: %w", r, explain(err, r))
	}
	d := r.Context().Digest(digestOf(rd.Manifest).String())
	tag := SignatureTag(d)
	body, err := payload.Cosign{Image: d}.MarshalJSON()
	if err != nil {
		return d, tag, err
	}

	base, err := remote.Image(tag, opts...)
	var te *transport.Error
	switch {
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		base = emptySignatures()
	case err != nil:
		return d, tag, fmt.Errorf("sign %s: read %s: %w", d, tag, explain(err, tag))
	default:
		// Signing again with the same key adds nothing (ECDSA signatures
		// differ each time, so compare by verifying).
		m, err := base.Manifest()
		if err != nil {
			return d, tag, fmt.Errorf("sign %s: read %s: %w", d, tag, err)
		}
		for _, l := range m.Layers {
			if l.Digest == digestOf(body) && verifyLayer(l, body, key.Public()) == nil {
				return d, tag, nil
			}
		}
	}
	sig, err := key.sign(body)
	if err != nil {
		return d, tag, fmt.Errorf("sign %s: %w", d, err)
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(body, SimpleSigningMediaType),
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		return d, tag, err
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return d, tag, fmt.Errorf("sign %s: write %s: %w", d, tag, explain(err, tag))
	}
	return d, tag, nil
}

// emptySignatures is cosign's empty signature image: an OCI manifest with
// an image config and no layers yet.
func emptySignatures() v1.Image {
	return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
}

// verifyLayer checks one signature layer whose payload is body.
func verifyLayer(l v1.Descriptor, body []byte, k *PublicKey) error {
	if l.MediaType != SimpleSigningMediaType {
		return fmt.Errorf("layer of media type %s", l.MediaType)
	}
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnnotation])
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("no %s annotation", SignatureAnnotation)
	}
	return k.verify(sig, body)
}

// maxSignatures bounds the work a signature image can ask for.
const maxSignatures = 100

// checkSignatures applies cosign's rule for key-pair signatures: some
// signature in the signature image m verifies with k, over a payload that
// names d's digest.
func checkSignatures(m *v1.Manifest, blob func(v1.Descriptor) ([]byte, error), d name.Digest, k *PublicKey) error {
	if len(m.Layers) > maxSignatures {
		return fmt.Errorf("%s has %d layers, more than the %d signatures this runtime reads", SignatureTag(d), len(m.Layers), maxSignatures)
	}
	n := 0
	var other string
	for _, l := range m.Layers {
		if l.MediaType != SimpleSigningMediaType {
			continue
		}
		n++
		if err := checkDescriptor(l, maxConfigSize); err != nil {
			return fmt.Errorf("signature payload: %w", err)
		}
		body, err := blob(l)
		if err != nil {
			return fmt.Errorf("signature payload: %w", err)
		}
		if verifyLayer(l, body, k) != nil {
			continue
		}
		var p payload.Cosign
		if err := p.UnmarshalJSON(body); err != nil {
			return fmt.Errorf("signature payload: %w", err)
		}
		if got := p.Image.DigestStr(); got != d.DigestStr() {
			other = got
			continue
		}
		return nil
	}
	switch {
	case n == 0:
		return fmt.Errorf("%w: %s holds no signature", ErrUnsigned, SignatureTag(d))
	case other != "":
		return fmt.Errorf("%w: the signature by this key in %s is for %s, not this manifest", ErrBadSignature, SignatureTag(d), other)
	}
	return fmt.Errorf("%w: %d signature(s) in %s, none by this key", ErrBadSignature, n, SignatureTag(d))
}

// verify requires a signature of d by k: from the store if it has one that
// verifies (unless PullAlways), else from the registry (unless PullNever).
// A signature that verifies is kept in the store.
func (p *puller) verify(d name.Digest, k *PublicKey) error {
	tag := SignatureTag(d)
	if p.policy != PullAlways {
		err := p.verifyLocal(d, tag, k)
		switch {
		case err == nil:
			return nil
		case p.policy == PullNever && errors.Is(err, ErrNotFound):
			return fmt.Errorf("%w: no signature in the local store (--pull never)", ErrUnsigned)
		case p.policy == PullNever:
			return err
		}
	}
	rp, err := p.registry()
	if err != nil {
		return err
	}
	rd, err := rp.Get(p.ctx, tag)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: no cosign signature in %s (looked for %s)", ErrUnsigned, d.Context(), tag.TagStr())
	} else if err != nil {
		return fmt.Errorf("signature %s: %w", tag, explain(err, tag))
	}
	raw := rd.Manifest
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("signature %s: %w", tag, err)
	}
	blob := func(l v1.Descriptor) ([]byte, error) {
		b, _, err := p.blob(tag.Context(), l)
		return b, err
	}
	if err := checkSignatures(m, blob, d, k); err != nil {
		return err
	}
	// Keep it for offline runs: its config too, so the layout is whole.
	if _, err := blob(m.Config); err != nil {
		return fmt.Errorf("signature %s: config: %w", tag, err)
	}
	desc := v1.Descriptor{MediaType: rd.MediaType, Size: int64(len(raw)), Digest: digestOf(raw)}
	if err := p.c.Store.Put(desc.Digest, raw); err != nil {
		return err
	}
	return p.c.Store.Tag(tag.Name(), desc)
}

func (p *puller) verifyLocal(d name.Digest, tag name.Tag, k *PublicKey) error {
	desc, err := p.c.Store.Resolve(tag.Name())
	if err != nil {
		return err
	}
	raw, err := p.c.Store.Get(desc.Digest)
	if err != nil {
		return err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("signature %s: %w", tag, err)
	}
	return checkSignatures(m, func(l v1.Descriptor) ([]byte, error) { return p.c.Store.Get(l.Digest) }, d, k)
}
