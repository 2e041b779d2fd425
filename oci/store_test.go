package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestStoreBlobs(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("blob")
	h := digestOf(data)
	if _, err := s.Get(h); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing blob: %v, want ErrNotFound", err)
	}
	if err := s.Put(h, []byte("other")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Put of data that is not its digest: %v, want ErrCorrupt", err)
	}
	if err := s.Put(h, data); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(h); err != nil || string(got) != "blob" {
		t.Fatalf("Get: %q, %v", got, err)
	}

	// A blob changed on disk is refused and removed, and can be put again.
	path := filepath.Join(s.Dir(), "blobs", "sha256", h.Hex)
	if err := os.WriteFile(path, []byte("blub"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(h); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a corrupt blob: %v, want ErrCorrupt", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the corrupt blob is still there: %v", err)
	}
	if err := s.Put(h, data); err != nil {
		t.Fatal(err)
	}
	// A corrupt blob is replaced by Put, not skipped as present.
	os.WriteFile(path, []byte("blub"), 0o644)
	if err := s.Put(h, data); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(h); err != nil {
		t.Fatal(err)
	}

	for _, bad := range []v1.Hash{{Algorithm: "sha256", Hex: "../../etc"}, {Algorithm: "md5", Hex: h.Hex}} {
		if _, err := s.Get(bad); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%v): %v, want a refusal", bad, err)
		}
	}
}

func TestStoreTags(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("r/x:1", v1.Descriptor{Digest: digestOf([]byte("absent"))}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Tag of a manifest not in the store: %v", err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine its own Store: as separate processes would.
			s, err := OpenStore(dir)
			if err != nil {
				t.Error(err)
				return
			}
			m := []byte(fmt.Sprintf("manifest %d", i))
			if err := s.Put(digestOf(m), m); err != nil {
				t.Error(err)
				return
			}
			if err := s.Tag(fmt.Sprintf("r/x:%d", i), v1.Descriptor{MediaType: "m", Size: int64(len(m)), Digest: digestOf(m)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	entries, err := s.Entries()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 20 {
		t.Fatalf("%d entries after 20 concurrent tags, want 20: %v", len(entries), entries)
	}
	// Retagging replaces.
	m := []byte("manifest 3")
	if err := s.Tag("r/x:1", v1.Descriptor{Size: int64(len(m)), Digest: digestOf(m)}); err != nil {
		t.Fatal(err)
	}
	if d, err := s.Resolve("r/x:1"); err != nil || d.Digest != digestOf(m) {
		t.Fatalf("Resolve after retag: %v, %v", d.Digest, err)
	}
	if entries, _ := s.Entries(); len(entries) != 20 {
		t.Errorf("retag left %d entries", len(entries))
	}
	if _, err := s.Resolve("r/x:99"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve of an unknown ref: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		t.Errorf("not an OCI layout: %v", err)
	}
}
