package testenv

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is an OCI registry (go-containerregistry's pkg/registry, the
// reference implementation of the distribution API, in memory) serving on
// 127.0.0.1 for one test, with a log of the requests it got. It can require
// a password and can serve a tampered blob.
type Registry struct {
	// Host is host:port, for references: Host + "/repo:tag".
	Host string

	srv *httptest.Server

	mu     sync.Mutex
	log    []string
	tamper map[string]func([]byte) []byte // by digest
	user   string
	pass   string
}

// StartRegistry starts a registry, stopped at the end of the test.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	r := &Registry{tamper: map[string]func([]byte) []byte{}}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(r.wrap(h))
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	t.Cleanup(r.Close)
	return r
}

// PushEcli pushes wasm as repo:tag the way eunomia-bpf's `ecli push`
// does (bpf-oci on oci-distribution 0.9): a config "{}" of wasm-to-oci's
// config media type, the module as a wasm-to-oci layer, a manifest with no
// mediaType field and no annotations, PUT as an OCI manifest. It returns
// the manifest.
func (r *Registry) PushEcli(t testing.TB, repo, tag string, wasm []byte) []byte {
	t.Helper()
	const configType, layerType = "application/vnd.wasm.config.v1+json", "application/vnd.wasm.content.layer.v1+wasm"
	rp, err := name.NewRepository(r.Host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	config := []byte("{}")
	for _, b := range []struct {
		data []byte
		mt   types.MediaType
	}{{config, configType}, {wasm, layerType}} {
		if err := remote.WriteLayer(rp, static.NewLayer(b.data, b.mt)); err != nil {
			t.Fatal(err)
		}
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"config":{"mediaType":%q,"digest":"sha256:%x","size":%d},"layers":[{"mediaType":%q,"digest":"sha256:%x","size":%d}]}`,
		configType, sha256.Sum256(config), len(config), layerType, sha256.Sum256(wasm), len(wasm))
	req, _ := http.NewRequest(http.MethodPut, r.srv.URL+"/v2/"+repo+"/manifests/"+tag, strings.NewReader(manifest))
	req.Header.Set("Content-Type", string(types.OCIManifestSchema1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT manifest: %s", resp.Status)
	}
	return []byte(manifest)
}

// Close stops the registry: it stops answering at once.
func (r *Registry) Close() {
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// RequireLogin makes the registry demand HTTP Basic credentials.
func (r *Registry) RequireLogin(user, pass string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.user, r.pass = user, pass
}

// Tamper makes the registry serve f(blob) instead of the blob with digest
// ("sha256:..."): the same size if f keeps it, with the right Content-Length.
func (r *Registry) Tamper(digest string, f func([]byte) []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tamper[digest] = f
}

// Requests returns "METHOD PATH" for every request so far.
func (r *Registry) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

// Fetched says whether a GET or HEAD of the blob with digest was made.
func (r *Registry) Fetched(digest string) bool {
	for _, l := range r.Requests() {
		if strings.HasSuffix(l, "/blobs/"+digest) && (strings.HasPrefix(l, "GET ") || strings.HasPrefix(l, "HEAD ")) {
			return true
		}
	}
	return false
}

// ResetLog forgets the requests so far.
func (r *Registry) ResetLog() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = nil
}

func (r *Registry) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.log = append(r.log, req.Method+" "+req.URL.Path)
		user, pass := r.user, r.pass
		var tamper func([]byte) []byte
		if i := strings.LastIndex(req.URL.Path, "/blobs/"); i >= 0 && req.Method == http.MethodGet {
			tamper = r.tamper[req.URL.Path[i+len("/blobs/"):]]
		}
		r.mu.Unlock()
		if user != "" {
			if u, p, ok := req.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="testenv"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
		}
		if tamper == nil {
			h.ServeHTTP(w, req)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := tamper(rec.Body.Bytes())
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(rec.Code)
		io.Copy(w, bytes.NewReader(body))
	})
}
