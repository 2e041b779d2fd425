package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"wasm-bpf", "version"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	for _, re := range []string{
		`(?m)^wasm-bpf: +\S+$`,
		`(?m)^commit: +\S+`,
		`(?m)^wasmtime-go: +v39\.`, // from the build info, also in a test binary
		`(?m)^libbpf: +1\.\d+`,
		`(?m)^go: +` + regexp.QuoteMeta(runtime.Version()) + `$`,
		`(?m)^platform: +` + runtime.GOOS + `/` + runtime.GOARCH + ` \((static|dynamic)\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", re, out)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q", stderr.String())
	}
}

// The link-time stamps win over the build info and libbpf's runtime answer.
func TestVersionStamped(t *testing.T) {
	defer func(v, c, l, w, k string) {
		buildVersion, buildCommit, buildLibbpf, buildWasmtime, buildLinkage = v, c, l, w, k
	}(buildVersion, buildCommit, buildLibbpf, buildWasmtime, buildLinkage)
	buildVersion, buildCommit, buildLibbpf, buildWasmtime, buildLinkage = "v1.2.3-4-gabc", "abcdef0123", "1.1.2", "39.0.0", "static"

	var b bytes.Buffer
	readVersionInfo().writeTo(&b)
	for _, want := range []string{
		"wasm-bpf:    v1.2.3-4-gabc\n",
		"commit:      abcdef0123",
		"wasmtime:    39.0.0\n",
		"libbpf:      1.1.2\n",
		"(static)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

// "version" is a command, but a module of that name can still be run, and
// the command refuses arguments rather than ignoring a module path.
func TestVersionIsNotAModule(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	writeWat(t, dir, "version", helloWat)
	t.Chdir(dir)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"command", []string{"version"}, 0, "libbpf:", ""},
		{"run a module named version", []string{"run", "version"}, 7, "hello from the guest\n", ""},
		{"path to a module named version", []string{"./version"}, 7, "hello from the guest\n", ""},
		{"flags before run", []string{"run", "--no-cache", "version"}, 7, "hello from the guest\n", ""},
		{"arguments", []string{"version", "x.wasm"}, 1, "", "wasm-bpf run x.wasm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"wasm-bpf"}, tt.args...), strings.NewReader(""), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, stderr.String())
			}
			if tt.stdout != "" && !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "version")); err != nil {
		t.Fatal(err)
	}
}
