package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Go commands the tests run, at versions known to build with this Go.
const (
	OrasPackage   = "oras.land/oras/cmd/oras@v1.3.6"
	CosignPackage = "github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"
)

// toolCache is where GoTool keeps what it built, across test runs. It is
// read when the test binary starts, before any test sets XDG_CACHE_HOME.
var toolCache = func() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "wasm-bpf-test-tools")
}()

// GoTool builds the command pkg@version from the Go module proxy (`go
// install`), once per machine: later calls return the binary built before.
// The first build of a large command takes minutes.
func GoTool(pkg string) (string, error) {
	path, version, ok := strings.Cut(pkg, "@")
	if !ok {
		return "", fmt.Errorf("GoTool(%q): want PACKAGE@VERSION", pkg)
	}
	if toolCache == "" {
		return "", &ToolMissingError{Tool: pkg, Err: fmt.Errorf("no user cache directory")}
	}
	dir := filepath.Join(toolCache, strings.NewReplacer("/", "_", "@", "_").Replace(path)+"@"+version)
	bin := filepath.Join(dir, filepath.Base(path))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	goBin, err := goTool()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := fmt.Sprintf("GOBIN=%s %s install %s", tmp, goBin, pkg)
	if err := runEnv(tmp, []string{"GOBIN=" + tmp}, goBin, "install", pkg); err != nil {
		return "", &ToolMissingError{Tool: pkg, Err: fmt.Errorf("%s: %w", cmd, err)}
	}
	// Several test binaries may build it at once: the last rename wins,
	// and each is whole.
	if err := os.Rename(filepath.Join(tmp, filepath.Base(path)), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// GoToolT is GoTool reporting on t: a command that does not build follows
// the CI rule (it fails with CI=true).
func GoToolT(t testing.TB, pkg string) string {
	t.Helper()
	start := time.Now()
	p, err := GoTool(pkg)
	check(t, "build "+pkg, err)
	logSlow(t, "go install "+pkg, start)
	return p
}
