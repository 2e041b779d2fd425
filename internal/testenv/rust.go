package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Rust is the Rust toolchain that builds the Rust guests: Debian's rustc
// (1.63) with the wasm32-wasi standard library (libstd-rust-dev-wasm32),
// and cargo. rustup's toolchain, often first on PATH, has no wasm32 target
// here, so these are called by their /usr/bin paths, as the examples'
// Makefiles do.
type Rust struct {
	Cargo, Rustc, Rustdoc string
}

// rustBin is where Debian installs the toolchain.
const rustBin = "/usr/bin"

// FindRust returns Debian's Rust toolchain, or a ToolMissingError naming
// what is missing and the package that brings it.
func FindRust() (Rust, error) {
	r := Rust{Cargo: filepath.Join(rustBin, "cargo"), Rustc: filepath.Join(rustBin, "rustc"), Rustdoc: filepath.Join(rustBin, "rustdoc")}
	for _, p := range []struct{ path, pkg string }{{r.Cargo, "cargo"}, {r.Rustc, "rustc"}, {r.Rustdoc, "rustc"}} {
		if _, err := os.Stat(p.path); err != nil {
			return Rust{}, &ToolMissingError{Tool: p.path, Err: fmt.Errorf("%v (apt-get install %s, or bash scripts/deps.sh)", err, p.pkg)}
		}
	}
	out, err := exec.Command(r.Rustc, "--print", "target-libdir", "--target", "wasm32-wasi").Output()
	if err != nil {
		return Rust{}, &ToolMissingError{Tool: "rustc --target wasm32-wasi", Err: err}
	}
	libs, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "libstd-*.rlib"))
	if len(libs) == 0 {
		return Rust{}, &ToolMissingError{Tool: "the wasm32-wasi Rust standard library", Err: errors.New("not installed (apt-get install libstd-rust-dev-wasm32)")}
	}
	return r, nil
}

// RustT is FindRust reporting on t: a missing toolchain follows the CI
// rule (Unavailable).
func RustT(t testing.TB) Rust {
	t.Helper()
	r, err := FindRust()
	check(t, "Rust toolchain", err)
	return r
}

// Command is cargo with args, run in dir, offline (no registry is needed
// or reachable), with the toolchain's rustc and rustdoc and its build
// files in targetDir.
func (r Rust) Command(dir, targetDir string, args ...string) *exec.Cmd {
	cmd := exec.Command(r.Cargo, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RUSTC="+r.Rustc, "RUSTDOC="+r.Rustdoc, "CARGO_TARGET_DIR="+targetDir, "CARGO_NET_OFFLINE=true", "CARGO_TERM_COLOR=never")
	return cmd
}

// BuildWasm builds the binary bin of the cargo project in dir for
// wasm32-wasi (release, with the given features) and returns the path of
// its module; a warning is an error, as in make -C examples. env is added to cargo's environment (what build scripts and
// env! read).
func (r Rust) BuildWasm(dir, targetDir, bin string, features []string, env ...string) (string, error) {
	args := []string{"build", "--offline", "--release", "--target", "wasm32-wasi", "--bin", bin}
	if len(features) > 0 {
		args = append(args, "--features", strings.Join(features, ","))
	}
	cmd := r.Command(dir, targetDir, args...)
	cmd.Env = append(cmd.Env, env...)
	if err := runCargo(cmd); err != nil {
		return "", err
	}
	return filepath.Join(targetDir, "wasm32-wasi", "release", bin+".wasm"), nil
}

// CheckWasm type-checks the cargo project in dir for wasm32-wasi without
// building it: const evaluation, and so the layout checks of gen rust's
// output, happens there too.
func (r Rust) CheckWasm(dir, targetDir string) error {
	return runCargo(r.Command(dir, targetDir, "check", "--offline", "--target", "wasm32-wasi"))
}

// runCargo runs a cargo command; a failure or a warning is an error
// holding its output.
func runCargo(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	what := fmt.Sprintf("%s (in %s)", strings.Join(cmd.Args, " "), cmd.Dir)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v\n%s", what, err, out.String())
	}
	if bytes.Contains(out.Bytes(), []byte("warning")) {
		return fmt.Errorf("%s warned:\n%s", what, out.String())
	}
	return nil
}

// RustGuest describes a Rust guest to build for wasm32-wasi.
type RustGuest struct {
	Dir      string   // the cargo project
	Bin      string   // its binary
	Features []string // cargo features
	Env      []string // KEY=VALUE for the build (env! in the guest)
}

// RustGuestWasm builds a Rust guest once per description and returns the
// .wasm path. With a store, g.Dir must be a path that stays the same
// between runs (the key holds it): a directory from Stored, not a
// temporary one.
func (tc *Toolchain) RustGuestWasm(g RustGuest) (string, error) {
	dir, err := filepath.Abs(g.Dir)
	if err != nil {
		return "", err
	}
	key := "rust\x00" + dir + "\x00" + g.Bin + "\x00" + strings.Join(g.Features, ",") + "\x00" + strings.Join(g.Env, "\x00")
	out, err := tc.once(key, func(out string) error {
		// Only a build needs the toolchain: a guest from the store runs
		// where there is none (scripts/kernel-matrix.sh's VMs).
		r, err := FindRust()
		if err != nil {
			return err
		}
		// cargo's build files stay out of the store (which the VMs carry
		// in RAM); the guests share them within a test binary.
		wasm, err := r.BuildWasm(dir, filepath.Join(tc.dir, "cargo-target"), g.Bin, g.Features, g.Env...)
		if err != nil {
			return err
		}
		return os.Rename(wasm, filepath.Join(out, g.Bin+".wasm"))
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(out, g.Bin+".wasm"), nil
}

// RustGuestWasmT is RustGuestWasm reporting errors on t.
func (tc *Toolchain) RustGuestWasmT(t testing.TB, g RustGuest) string {
	t.Helper()
	start := time.Now()
	p, err := tc.RustGuestWasm(g)
	check(t, "build Rust guest "+g.Dir, err)
	logSlow(t, "Rust guest "+g.Bin, start)
	return p
}
