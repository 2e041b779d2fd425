package oci

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Client pushes, pulls and signs guests.
type Client struct {
	// Store holds what Pull fetches; Pull needs one.
	Store *Store
	// Keychain finds credentials; nil: the Docker config
	// (~/.docker/config.json or $DOCKER_CONFIG, with credential helpers).
	Keychain authn.Keychain
	// Insecure allows plain HTTP to any registry and TLS without
	// certificate checks. Without it only loopback registries are reached
	// over plain HTTP.
	Insecure bool
	// Transport carries the requests; nil: go-containerregistry's default.
	Transport http.RoundTripper
	// UserAgent is sent with every request.
	UserAgent string
	// Logger says what is fetched and what is refetched; nil: nothing.
	Logger *slog.Logger
}

// IsReference says whether s is meant as a registry reference rather than a
// file: registry/repo[:tag] or registry/repo@sha256:..., where the registry
// is explicit (it has a dot or a port, or is localhost), as Docker decides.
func IsReference(s string) bool {
	reg, rest, ok := strings.Cut(s, "/")
	if !ok || rest == "" || strings.HasPrefix(s, ".") {
		return false
	}
	if reg != "localhost" && !strings.ContainsAny(reg, ".:") {
		return false
	}
	_, err := name.ParseReference(s)
	return err == nil
}

// ParseReference parses a registry reference (see IsReference).
func (c *Client) ParseReference(s string) (name.Reference, error) {
	if !IsReference(s) {
		return nil, fmt.Errorf("%q is not a registry reference: want REGISTRY/REPOSITORY[:TAG] or REGISTRY/REPOSITORY@sha256:DIGEST, with the registry spelled out (docker.io/..., localhost:5000/...)", s)
	}
	var opts []name.Option
	if c.Insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(s, opts...)
	if err != nil {
		return nil, fmt.Errorf("reference %q: %w", s, err)
	}
	return r, nil
}

func (c *Client) log() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func (c *Client) options(ctx context.Context) []remote.Option {
	kc := c.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(c.transport()),
	}
	if c.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(c.UserAgent))
	}
	return opts
}

func (c *Client) transport() http.RoundTripper {
	tr := c.Transport
	if tr == nil {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		if c.Insecure {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		}
		tr = t
	}
	return plainHTTPGuard{next: tr, insecure: c.Insecure}
}

// plainHTTPGuard refuses plain HTTP to anything but loopback, unless
// insecure. go-containerregistry itself falls back to HTTP for private
// addresses too; a guest fetched over a network in clear text could be
// swapped on the way (and a tag is not a digest).
type plainHTTPGuard struct {
	next     http.RoundTripper
	insecure bool
}

func (g plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.insecure && !isLoopback(req.URL.Hostname()) {
		return nil, fmt.Errorf("plain HTTP to %s refused: only loopback registries are reached without TLS (pass --insecure to allow it)", req.URL.Host)
	}
	return g.next.RoundTrip(req)
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// explain adds the fix to a registry error a user can fix.
func explain(err error, r name.Reference) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%w (log in with `wasm-bpf login %s`, or check that your account may use %s)", err, r.Context().RegistryStr(), r.Context())
		case http.StatusNotFound:
			return fmt.Errorf("%w (no such repository, tag or digest in %s)", err, r.Context().RegistryStr())
		}
	}
	return err
}

// PushOptions are the choices of Push.
type PushOptions struct {
	// Annotations of the manifest: what the module asks of the kernel,
	// under AnnotationPrefix.
	Annotations map[string]string
	// Created is the config's creation time; zero: now. Set it (from
	// SOURCE_DATE_EPOCH, say) to push the same digest for the same module.
	Created time.Time
}

// Push writes wasm to the registry as a Wasm OCI artifact tagged ref and
// returns its reference by digest.
func (c *Client) Push(ctx context.Context, wasm []byte, ref string, o PushOptions) (name.Digest, error) {
	r, err := c.ParseReference(ref)
	if err != nil {
		return name.Digest{}, err
	}
	if _, ok := r.(name.Tag); !ok {
		return name.Digest{}, fmt.Errorf("push %s: give a tag, not a digest (the digest is the manifest's)", ref)
	}
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return name.Digest{}, fmt.Errorf("push %s: not a WebAssembly module (no \\0asm header)", ref)
	}
	created := o.Created
	if created.IsZero() {
		created = time.Now()
	}
	a, err := newArtifact(wasm, o.Annotations, created)
	if err != nil {
		return name.Digest{}, fmt.Errorf("push %s: %w", ref, err)
	}
	p, err := remote.NewPusher(c.options(ctx)...)
	if err != nil {
		return name.Digest{}, err
	}
	for _, b := range []struct {
		data []byte
		mt   types.MediaType
	}{{a.config, ConfigMediaType}, {wasm, LayerMediaType}} {
		if err := p.Upload(ctx, r.Context(), static.NewLayer(b.data, b.mt)); err != nil {
			return name.Digest{}, fmt.Errorf("push %s: %w", ref, explain(err, r))
		}
	}
	if err := p.Put(ctx, r, rawManifest(a.manifest)); err != nil {
		return name.Digest{}, fmt.Errorf("push %s: %w", ref, explain(err, r))
	}
	return r.Context().Digest(digestOf(a.manifest).String()), nil
}

// rawManifest is an OCI image manifest as bytes, for remote.Put.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// PullPolicy says when Pull asks the registry, as container tools do.
type PullPolicy int

const (
	// PullMissing uses what the store holds for the reference (the tag as
	// last pulled, or the digest) and fetches only what it lacks.
	PullMissing PullPolicy = iota
	// PullAlways asks the registry what the reference is now; blobs the
	// store holds are not fetched again.
	PullAlways
	// PullNever uses the store only.
	PullNever
)

// ParsePullPolicy reads "missing", "always" or "never".
func ParsePullPolicy(s string) (PullPolicy, error) {
	for _, p := range []PullPolicy{PullMissing, PullAlways, PullNever} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("pull policy %q: want missing, always or never", s)
}

func (p PullPolicy) String() string {
	switch p {
	case PullMissing:
		return "missing"
	case PullAlways:
		return "always"
	case PullNever:
		return "never"
	}
	return fmt.Sprintf("PullPolicy(%d)", int(p))
}

// PullOptions are the choices of Pull.
type PullOptions struct {
	Policy PullPolicy
	// VerifyKey, if set, requires a cosign signature of the manifest by
	// this key.
	VerifyKey *PublicKey
	// Admit, if set, is called with the manifest's annotations once the
	// manifest (and its signature) is checked and before the module is
	// fetched or read; an error refuses the guest with its message.
	Admit func(annotations map[string]string) error
}

// Guest is a pulled guest.
type Guest struct {
	Ref         name.Digest       // its repository and manifest digest
	Annotations map[string]string // the manifest's
	Wasm        []byte            // the module, checked against its digest
	Fetched     bool              // the module came from the registry, not the store
}

// Pull resolves ref to a guest, from the store or the registry as the
// policy says, and leaves everything it fetched in the store.
func (c *Client) Pull(ctx context.Context, ref string, o PullOptions) (*Guest, error) {
	if c.Store == nil {
		return nil, errors.New("pull: no store")
	}
	r, err := c.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	p := &puller{c: c, ctx: ctx, policy: o.Policy}
	raw, desc, err := p.manifest(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	d := r.Context().Digest(desc.Digest.String())
	m, layer, err := parseManifest(raw, desc.MediaType)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	if o.VerifyKey != nil {
		if err := p.verify(d, o.VerifyKey); err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
	}
	if o.Admit != nil {
		if err := o.Admit(m.Annotations); err != nil {
			return nil, fmt.Errorf("%s: refused before fetching the module: %w", d, err)
		}
	}
	if _, _, err := p.blob(d.Context(), m.Config); err != nil {
		return nil, fmt.Errorf("%s: config: %w", d, err)
	}
	wasm, fetched, err := p.blob(d.Context(), layer)
	if err != nil {
		return nil, fmt.Errorf("%s: module: %w", d, err)
	}
	// The manifest goes in last: a manifest in the store has its blobs.
	if err := c.Store.Put(desc.Digest, raw); err != nil {
		return nil, err
	}
	if cur, err := c.Store.Resolve(r.Name()); err != nil || cur.Digest != desc.Digest {
		if err := c.Store.Tag(r.Name(), desc); err != nil {
			return nil, err
		}
	}
	return &Guest{Ref: d, Annotations: m.Annotations, Wasm: wasm, Fetched: fetched}, nil
}

// puller is one Pull: the registry connection is made once, when first
// needed.
type puller struct {
	c      *Client
	ctx    context.Context
	policy PullPolicy
	remote *remote.Puller
}

func (p *puller) registry() (*remote.Puller, error) {
	if p.remote == nil {
		rp, err := remote.NewPuller(p.c.options(p.ctx)...)
		if err != nil {
			return nil, err
		}
		p.remote = rp
	}
	return p.remote, nil
}

// manifest returns the manifest of r and its descriptor.
func (p *puller) manifest(r name.Reference) ([]byte, v1.Descriptor, error) {
	if p.policy != PullAlways {
		raw, desc, err := p.localManifest(r)
		switch {
		case err == nil:
			return raw, desc, nil
		case p.policy == PullNever:
			return nil, v1.Descriptor{}, fmt.Errorf("%w (--pull never: pull it first)", err)
		case errors.Is(err, ErrCorrupt):
			p.c.log().Warn("refetching a corrupt manifest", "err", err)
		case !errors.Is(err, ErrNotFound):
			return nil, v1.Descriptor{}, err
		}
	}
	rp, err := p.registry()
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	rd, err := rp.Get(p.ctx, r)
	if err != nil {
		return nil, v1.Descriptor{}, explain(err, r)
	}
	if len(rd.Manifest) > maxManifestSize {
		return nil, v1.Descriptor{}, fmt.Errorf("manifest of %d bytes: too large", len(rd.Manifest))
	}
	desc := v1.Descriptor{MediaType: rd.MediaType, Size: int64(len(rd.Manifest)), Digest: digestOf(rd.Manifest)}
	if d, ok := r.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
		return nil, v1.Descriptor{}, fmt.Errorf("the registry sent a manifest whose digest is %s: refused", desc.Digest)
	}
	p.c.log().Debug("fetched manifest", "ref", r.String(), "digest", desc.Digest.String())
	return rd.Manifest, desc, nil
}

func (p *puller) localManifest(r name.Reference) ([]byte, v1.Descriptor, error) {
	var desc v1.Descriptor
	if d, ok := r.(name.Digest); ok {
		h, err := v1.NewHash(d.DigestStr())
		if err != nil {
			return nil, desc, err
		}
		desc.Digest = h
	} else {
		var err error
		if desc, err = p.c.Store.Resolve(r.Name()); err != nil {
			return nil, desc, err
		}
	}
	raw, err := p.c.Store.Get(desc.Digest)
	if err != nil {
		return nil, desc, err
	}
	desc.Size = int64(len(raw))
	return raw, desc, nil
}

// blob returns the blob desc describes, from the store or the registry, and
// whether it was fetched.
func (p *puller) blob(repo name.Repository, desc v1.Descriptor) ([]byte, bool, error) {
	data, err := p.c.Store.Get(desc.Digest)
	switch {
	case err == nil && int64(len(data)) == desc.Size:
		return data, false, nil
	case err == nil:
		return nil, false, fmt.Errorf("blob %s has %d bytes, the manifest says %d", desc.Digest, len(data), desc.Size)
	case p.policy == PullNever:
		return nil, false, fmt.Errorf("%w (--pull never: pull it first)", err)
	case errors.Is(err, ErrCorrupt):
		p.c.log().Warn("refetching a corrupt blob", "err", err)
	case !errors.Is(err, ErrNotFound):
		return nil, false, err
	}
	data, err = p.fetch(repo, desc)
	if err != nil {
		return nil, false, err
	}
	if err := p.c.Store.Put(desc.Digest, data); err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// fetch reads a blob from the registry and checks it against desc.
func (p *puller) fetch(repo name.Repository, desc v1.Descriptor) ([]byte, error) {
	rp, err := p.registry()
	if err != nil {
		return nil, err
	}
	ref := repo.Digest(desc.Digest.String())
	l, err := rp.Layer(p.ctx, ref)
	if err != nil {
		return nil, explain(err, ref)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, explain(err, ref)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, desc.Size+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: refused", ref, err)
	}
	if got := digestOf(data); int64(len(data)) != desc.Size || got != desc.Digest {
		return nil, fmt.Errorf("fetch %s: the registry sent %d bytes with digest %s, the manifest says %d bytes: refused", ref, len(data), got, desc.Size)
	}
	p.c.log().Debug("fetched blob", "digest", desc.Digest.String(), "size", desc.Size)
	return data, nil
}
