package host

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

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
type codeCache struct {
	dir string
}

// cacheMagic starts every entry; the SHA-256 of the payload follows it.
var cacheMagic = []byte("wasm-bpf code cache 1\n")

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
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	payload, ok := bytes.CutPrefix(data, cacheMagic)
	if ok && len(payload) >= sha256.Size {
		sum, code := payload[:sha256.Size], payload[sha256.Size:]
		if got := sha256.Sum256(code); bytes.Equal(sum, got[:]) {
			if m, err := wasmtime.NewModuleDeserialize(engine, code); err == nil {
				return m
			}
		}
	}
	os.Remove(path) // corrupt or stale: compile again and rewrite
	return nil
}

func (c *codeCache) store(fingerprint string, key [sha256.Size]byte, code []byte) error {
	sum := sha256.Sum256(code)
	f, err := os.CreateTemp(c.dir, "tmp-*")
	if err != nil {
		return fmt.Errorf("compile cache: %w", err)
	}
	_, err = f.Write(append(append(append([]byte{}, cacheMagic...), sum[:]...), code...))
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
