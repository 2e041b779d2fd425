package host

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// codeCache stores wasmtime's serialized native code. An entry is native
// code the engine will run, so it is only used if its checksum matches and
// wasmtime accepts it for this engine; anything else is deleted and
// compiled again.
type codeCache struct {
	dir          string
	fingerprint  string
	hits, misses atomic.Uint64
}

// cacheMagic starts every entry; the SHA-256 of the payload follows it.
var cacheMagic = []byte("wasm-bpf code cache 1\n")

func newCodeCache(dir, fingerprint string) (*codeCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("compile cache: %w", err)
	}
	return &codeCache{dir: dir, fingerprint: fingerprint}, nil
}

func (c *codeCache) path(wasm []byte) string {
	h := sha256.New()
	h.Write([]byte(c.fingerprint))
	h.Write([]byte{0})
	h.Write(wasm)
	return filepath.Join(c.dir, hex.EncodeToString(h.Sum(nil))+".cwasm")
}

func (c *codeCache) load(engine *wasmtime.Engine, wasm []byte) *wasmtime.Module {
	path := c.path(wasm)
	data, err := os.ReadFile(path)
	if err != nil {
		c.misses.Add(1)
		return nil
	}
	payload, ok := bytes.CutPrefix(data, cacheMagic)
	if ok && len(payload) >= sha256.Size {
		sum, code := payload[:sha256.Size], payload[sha256.Size:]
		if got := sha256.Sum256(code); bytes.Equal(sum, got[:]) {
			if m, err := wasmtime.NewModuleDeserialize(engine, code); err == nil {
				c.hits.Add(1)
				return m
			}
		}
	}
	os.Remove(path) // corrupt or stale: compile again and rewrite
	c.misses.Add(1)
	return nil
}

func (c *codeCache) store(wasm []byte, m *wasmtime.Module) {
	code, err := m.Serialize()
	if err != nil {
		return
	}
	sum := sha256.Sum256(code)
	f, err := os.CreateTemp(c.dir, "tmp-*")
	if err != nil {
		return
	}
	_, err = f.Write(append(append(append([]byte{}, cacheMagic...), sum[:]...), code...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), c.path(wasm)) // atomic: readers see all or nothing
	}
	if err != nil {
		os.Remove(f.Name())
	}
}
