package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// ErrCorrupt says a blob in the store did not match its digest; it has been
// deleted.
var ErrCorrupt = errors.New("blob does not match its digest")

// ErrNotFound says the store does not hold a blob or a reference.
var ErrNotFound = errors.New("not in the local store")

// refAnnotation names an entry of the layout's index.json. The store keeps
// full references (registry/repo:tag, registry/repo@sha256:...), which fit
// the annotation's grammar, so that one layout holds many repositories.
const refAnnotation = "org.opencontainers.image.ref.name"

// Store is a content-addressed store in the OCI image layout: blobs under
// blobs/sha256/, references in index.json. Blobs are written atomically and
// checked against their digest on every write and read; index.json is
// rewritten atomically under a lock, so processes may share a store.
type Store struct {
	dir string
}

// OpenStore opens the store in dir, creating it if needed.
func OpenStore(dir string) (*Store, error) {
	s := &Store{dir: dir}
	if err := os.MkdirAll(s.blobDir(), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	layout := filepath.Join(dir, "oci-layout")
	if _, err := os.Stat(layout); errors.Is(err, fs.ErrNotExist) {
		if err := writeAtomic(dir, layout, []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return s, nil
}

// Dir is the directory of the store.
func (s *Store) Dir() string { return s.dir }

func (s *Store) blobDir() string { return filepath.Join(s.dir, "blobs", "sha256") }

func (s *Store) blobPath(h v1.Hash) (string, error) {
	if err := checkDigest(h); err != nil {
		return "", err
	}
	return filepath.Join(s.blobDir(), h.Hex), nil
}

// Put stores data as blob h, unless data does not match h.
func (s *Store) Put(h v1.Hash, data []byte) error {
	path, err := s.blobPath(h)
	if err != nil {
		return err
	}
	if got := digestOf(data); got != h {
		return fmt.Errorf("store %s: %w (it is %s)", h, ErrCorrupt, got)
	}
	if _, err := s.Get(h); err == nil {
		return nil
	}
	if err := writeAtomic(s.blobDir(), path, data); err != nil {
		return fmt.Errorf("store %s: %w", h, err)
	}
	return nil
}

// Get reads blob h. A blob that does not match h is deleted and reported as
// ErrCorrupt; a missing one as ErrNotFound.
func (s *Store) Get(h v1.Hash) ([]byte, error) {
	path, err := s.blobPath(h)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", h, ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	if got := digestOf(data); got != h {
		os.Remove(path)
		return nil, fmt.Errorf("blob %s in %s: %w (it is %s; deleted)", h, s.dir, ErrCorrupt, got)
	}
	return data, nil
}

// Entry is one reference the store holds.
type Entry struct {
	Ref      string        // registry/repo:tag or registry/repo@sha256:...
	Manifest v1.Descriptor // what it refers to
}

// Entries lists the store's references, sorted.
func (s *Store) Entries() ([]Entry, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, d := range idx.Manifests {
		if ref := d.Annotations[refAnnotation]; ref != "" {
			out = append(out, Entry{Ref: ref, Manifest: d})
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return bytes.Compare([]byte(a.Ref), []byte(b.Ref))
	})
	return out, nil
}

// StoredGuest is a guest the store holds, as Guests lists it.
type StoredGuest struct {
	Entry
	Module      v1.Descriptor     // the Wasm layer
	Annotations map[string]string // the manifest's
	Err         error             // why the manifest cannot be read as a guest
}

// Guests lists the store's references to guests (signature images left
// out), sorted.
func (s *Store) Guests() ([]StoredGuest, error) {
	entries, err := s.Entries()
	if err != nil {
		return nil, err
	}
	var out []StoredGuest
	for _, e := range entries {
		if isSignatureRef(e.Ref) {
			continue
		}
		g := StoredGuest{Entry: e}
		raw, err := s.Get(e.Manifest.Digest)
		if err == nil {
			var m *v1.Manifest
			if m, g.Module, err = parseManifest(raw, e.Manifest.MediaType); err == nil {
				g.Annotations = m.Annotations
			}
		}
		g.Err = err
		out = append(out, g)
	}
	return out, nil
}

// isSignatureRef says whether ref is tagged as cosign tags signatures.
func isSignatureRef(ref string) bool {
	i := strings.LastIndex(ref, ":sha256-")
	return i >= 0 && strings.HasSuffix(ref, ".sig") && checkDigest(v1.Hash{Algorithm: "sha256", Hex: ref[i+len(":sha256-") : len(ref)-len(".sig")]}) == nil
}

// Resolve returns the manifest descriptor of ref (as Entry.Ref spells it).
func (s *Store) Resolve(ref string) (v1.Descriptor, error) {
	entries, err := s.Entries()
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, e := range entries {
		if e.Ref == ref {
			return e.Manifest, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("%s: %w", ref, ErrNotFound)
}

// Tag makes ref refer to the manifest d, whose blob must be in the store.
func (s *Store) Tag(ref string, d v1.Descriptor) error {
	if _, err := s.Get(d.Digest); err != nil {
		return fmt.Errorf("tag %s: %w", ref, err)
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	idx.Manifests = slices.DeleteFunc(idx.Manifests, func(e v1.Descriptor) bool {
		return e.Annotations[refAnnotation] == ref
	})
	d.Annotations = map[string]string{refAnnotation: ref}
	idx.Manifests = append(idx.Manifests, d)
	raw, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.dir, filepath.Join(s.dir, "index.json"), raw)
}

func (s *Store) readIndex() (*v1.IndexManifest, error) {
	raw, err := os.ReadFile(filepath.Join(s.dir, "index.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	} else if err != nil {
		return nil, fmt.Errorf("store index: %w", err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("store index %s: %w", filepath.Join(s.dir, "index.json"), err)
	}
	return &idx, nil
}

// lock serialises index.json updates across processes.
func (s *Store) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, "index.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("store lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// writeAtomic writes path through a temporary file in dir, so that readers
// see all of it or nothing.
func writeAtomic(dir, path string, data []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
