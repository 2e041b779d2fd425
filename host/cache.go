package host

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// DefaultCacheDir is where the CLI keeps compiled guests:
// $XDG_CACHE_HOME/wasm-bpf, or ~/.cache/wasm-bpf.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "wasm-bpf"), nil
}

// codeCache stores wasmtime's serialized native code, under the hash of
// the module and of the settings of the engine that compiled it. An entry
// is native code the engine will run, so it is only used if its checksum
// matches and wasmtime accepts it for the engine; anything else is deleted
// and compiled again.
//
// An entry is wasmtime's serialized module (an ELF image) followed by a
// trailer: the image's SHA-256, then cacheMagic. wasmtime maps the image
// from the file and reads only what its ELF header describes, so the code
// of a cached module is shared with the page cache and resident only where
// it runs, and the Go heap never holds it.
type codeCache struct {
	dir string
	// Starts that took their module's code from the cache, and that
	// compiled it (Runtime.CacheStats); a start that shares the module of a
	// running guest consults no cache and counts in neither.
	hits, misses atomic.Uint64
}

// cacheMagic ends every entry.
var cacheMagic = []byte("wasm-bpf code cache 2\n")

const trailerSize = sha256.Size + len("wasm-bpf code cache 2\n")

func newCodeCache(dir string) (*codeCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("compile cache: %w", err)
	}
	return &codeCache{dir: dir}, nil
}

// path names the entry of the module whose SHA-256 is key, compiled by an
// engine of settings fingerprint.
func (c *codeCache) path(fingerprint string, key [sha256.Size]byte) string {
	h := sha256.New()
	h.Write([]byte(fingerprint))
	h.Write([]byte{0})
	h.Write(key[:])
	return filepath.Join(c.dir, hex.EncodeToString(h.Sum(nil))+".cwasm")
}

func (c *codeCache) load(engine *wasmtime.Engine, fingerprint string, key [sha256.Size]byte) *wasmtime.Module {
	path := c.path(fingerprint, key)
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if intact(f) {
		if m, err := wasmtime.NewModuleDeserializeFile(engine, path); err == nil {
			return m
		}
	}
	os.Remove(path) // corrupt or stale: compile again and rewrite
	return nil
}

// intact checks an entry's trailer and checksum, reading the file through
// a small buffer: its pages are not mapped into the process.
func intact(f *os.File) bool {
	info, err := f.Stat()
	if err != nil || info.Size() < int64(trailerSize) {
		return false
	}
	size := info.Size() - int64(trailerSize)
	trailer := make([]byte, trailerSize)
	if _, err := f.ReadAt(trailer, size); err != nil || !bytes.Equal(trailer[sha256.Size:], cacheMagic) {
		return false
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, size), make([]byte, 64<<10)); err != nil {
		return false
	}
	return bytes.Equal(h.Sum(nil), trailer[:sha256.Size])
}

func (c *codeCache) store(fingerprint string, key [sha256.Size]byte, code []byte) error {
	sum := sha256.Sum256(code)
	f, err := os.CreateTemp(c.dir, "tmp-*")
	if err != nil {
		return fmt.Errorf("compile cache: %w", err)
	}
	_, err = f.Write(append(append(code, sum[:]...), cacheMagic...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), c.path(fingerprint, key)) // atomic: readers see all or nothing
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("compile cache: %w", err)
	}
	return nil
}
