package testenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ToolMissingError says a tool the tests need is not installed.
type ToolMissingError struct {
	Tool string
	Err  error
}

func (e *ToolMissingError) Error() string {
	return fmt.Sprintf("tool %q not available: %v", e.Tool, e.Err)
}

func (e *ToolMissingError) Unwrap() error { return e.Err }

// Toolchain builds what the kernel tests need: vmlinux.h, BPF objects, C
// headers embedding them, wasm guests and the wasm-bpf CLI. Create one per
// test binary (in TestMain) with NewToolchain and Close it at the end; every
// artefact lives in one temporary directory and is built once (results are
// memoised by their inputs). Its methods are safe for concurrent use.
//
// With $WASM_BPF_TESTENV_STORE set to a directory, artefacts live there
// instead and outlast the test binary: a later run of the same test binary
// with the same store (and the repository at the same path) takes them from
// it without building anything. scripts/kernel-matrix.sh builds the guests
// this way on the host and runs the tests in virtual machines that have no
// toolchain. A store holds one tree's artefacts: artefacts are keyed by
// their inputs' paths, not their contents.
type Toolchain struct {
	root  string // repository root (holds go.mod)
	dir   string // temporary directory for every artefact
	store string // $WASM_BPF_TESTENV_STORE: artefacts kept between runs, or ""

	mu   sync.Mutex
	memo map[string]memoEntry
}

type memoEntry struct {
	path string
	err  error
}

// NewToolchain makes a toolchain for the repository at repoRoot ("" finds
// it from the working directory).
func NewToolchain(repoRoot string) (*Toolchain, error) {
	if repoRoot == "" {
		r, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		repoRoot = r
	}
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "wasm-bpf-testenv-")
	if err != nil {
		return nil, err
	}
	store := os.Getenv(StoreEnv)
	if store != "" {
		if store, err = filepath.Abs(store); err != nil {
			return nil, err
		}
	}
	return &Toolchain{root: abs, dir: dir, store: store, memo: map[string]memoEntry{}}, nil
}

// StoreEnv names the environment variable that gives a Toolchain a store.
const StoreEnv = "WASM_BPF_TESTENV_STORE"

// storeDone marks a stored artefact as complete.
const storeDone = ".testenv-done"

// Stored runs build into a directory called name in the store (or, without
// a store, in Dir), unless the store holds a complete one already, and
// returns the directory. It is for artefacts built outside the Toolchain's
// own methods (examples/ builds every example with make). Test binaries
// sharing a store take turns: a lock file per name serialises them.
func (tc *Toolchain) Stored(name string, build func(out string) error) (string, error) {
	return tc.buildIn(tc.store, name, build)
}

// buildIn is Stored with the store dir; "" builds into Dir every time.
func (tc *Toolchain) buildIn(dir, name string, build func(out string) error) (string, error) {
	if dir == "" {
		out := filepath.Join(tc.dir, name)
		if err := os.MkdirAll(out, 0o755); err != nil {
			return "", err
		}
		return out, build(out)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	out := filepath.Join(dir, name)
	done := filepath.Join(out, storeDone)
	if _, err := os.Stat(done); err == nil {
		return out, nil
	}
	// An earlier build that did not finish leaves no half artefact behind.
	if err := os.RemoveAll(out); err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	if err := build(out); err != nil {
		return "", err
	}
	return out, os.WriteFile(done, nil, 0o644)
}

// Close removes every artefact.
func (tc *Toolchain) Close() error { return os.RemoveAll(tc.dir) }

// Dir is the temporary directory holding the artefacts.
func (tc *Toolchain) Dir() string { return tc.dir }

// RepoRoot is the repository root the toolchain builds from.
func (tc *Toolchain) RepoRoot() string { return tc.root }

// once runs build at most once per key and returns its memoised result;
// the artefact goes to the store, if there is one. build must not call once
// (the lock is held while it runs).
func (tc *Toolchain) once(key string, build func(out string) error) (string, error) {
	return tc.onceIn(key, true, build)
}

// onceIn is once; stored false keeps the artefact out of the store.
func (tc *Toolchain) onceIn(key string, stored bool, build func(out string) error) (string, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if e, ok := tc.memo[key]; ok {
		return e.path, e.err
	}
	sum := sha256.Sum256([]byte(key))
	store := ""
	if stored {
		store = tc.store
	}
	out, err := tc.buildIn(store, hex.EncodeToString(sum[:6]), build)
	if err != nil {
		out = ""
	}
	tc.memo[key] = memoEntry{out, err}
	return out, err
}

// check reports err to t: a missing tool follows the CI rule (Unavailable),
// anything else is a test failure.
func check(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var missing *ToolMissingError
	if errors.As(err, &missing) {
		Unavailable(t, "%s: %v", what, err)
	}
	t.Fatalf("%s: %v", what, err)
}

// lookTool finds an executable by name (also in the sbin directories, which a
// non-login PATH may lack).
func lookTool(name string, extra ...string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, e := range extra {
		if st, err2 := os.Stat(e); err2 == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return e, nil
		}
	}
	return "", &ToolMissingError{Tool: name, Err: err}
}

func goTool() (string, error) {
	extra := []string{"/usr/local/go/bin/go"}
	if gr := os.Getenv("GOROOT"); gr != "" {
		extra = append([]string{filepath.Join(gr, "bin", "go")}, extra...)
	}
	return lookTool("go", extra...)
}

// run runs a command and returns an error holding its combined output.
func run(dir string, name string, args ...string) error {
	return runEnv(dir, nil, name, args...)
}

// runEnv is run with variables added to the environment.
func runEnv(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

// VmlinuxDir returns a directory holding vmlinux.h, generated once from the
// running kernel's BTF with bpftool.
func (tc *Toolchain) VmlinuxDir() (string, error) {
	return tc.once("vmlinux.h", func(out string) error {
		bpftool, err := lookTool("bpftool", "/usr/sbin/bpftool", "/sbin/bpftool")
		if err != nil {
			return err
		}
		cmd := exec.Command(bpftool, "btf", "dump", "file", VmlinuxBTF, "format", "c")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		data, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("bpftool btf dump: %v\n%s", err, stderr.String())
		}
		return os.WriteFile(filepath.Join(out, "vmlinux.h"), data, 0o644)
	})
}

// BPFObject compiles a .bpf.c source (an absolute path or one relative to
// the working directory) to a BPF ELF object (clang -g -O2 -target bpf, then
// llvm-strip -g when available) and returns the object's path.
// defines are passed as -D flags ("NAME" or "NAME=VALUE").
func (tc *Toolchain) BPFObject(src string, defines ...string) (string, error) {
	return tc.bpfObject(src, true, defines)
}

// BPFObjectNoBTF is BPFObject without -g: the object has no BTF, as a
// user's who forgot the flag.
func (tc *Toolchain) BPFObjectNoBTF(src string, defines ...string) (string, error) {
	return tc.bpfObject(src, false, defines)
}

func (tc *Toolchain) bpfObject(src string, btf bool, defines []string) (string, error) {
	src, err := filepath.Abs(src)
	if err != nil {
		return "", err
	}
	arch, ok := TargetArch(runtime.GOARCH)
	if !ok {
		return "", fmt.Errorf("no __TARGET_ARCH known for GOARCH=%s", runtime.GOARCH)
	}
	// Outside tc.once: once is not reentrant.
	vmlinux, err := tc.VmlinuxDir()
	if err != nil {
		return "", err
	}
	key := fmt.Sprintf("bpf\x00%s\x00%v\x00%s", src, btf, strings.Join(defines, "\x00"))
	dir, err := tc.once(key, func(out string) error {
		clang, err := lookTool("clang")
		if err != nil {
			return err
		}
		// Source paths in the BTF relative to the repository: the same
		// object wherever the tree is.
		args := []string{"-O2", "-target", "bpf", "-D__TARGET_ARCH_" + arch,
			"-ffile-prefix-map=" + tc.root + "/=", "-I" + vmlinux, "-I" + filepath.Dir(src)}
		if btf {
			args = append(args, "-g")
		}
		for _, d := range defines {
			args = append(args, "-D"+d)
		}
		obj := filepath.Join(out, objName(src))
		args = append(args, "-c", src, "-o", obj)
		if err := run(out, clang, args...); err != nil {
			return err
		}
		// Drop the DWARF (20x the size of the rest; libbpf needs only .BTF)
		// as libbpf-based builds do; without llvm-strip keep it whole.
		if strip, err := lookTool("llvm-strip", "/usr/lib/llvm-14/bin/llvm-strip"); err == nil {
			return run(out, strip, "-g", obj)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, objName(src)), nil
}

func objName(src string) string {
	base := strings.TrimSuffix(filepath.Base(src), ".c")
	return base + ".o"
}

// EmbedObject writes a C header <symbol>.h that holds the bytes of the file
// obj as `static const unsigned char <symbol>[]` and its length as
// `<symbol>_len`, and returns the directory to pass as -I.
func (tc *Toolchain) EmbedObject(obj, symbol string) (string, error) {
	key := "embed\x00" + obj + "\x00" + symbol
	return tc.once(key, func(out string) error {
		data, err := os.ReadFile(obj)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := WriteCHeader(&buf, symbol, data); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(out, symbol+".h"), buf.Bytes(), 0o644)
	})
}

// Guest describes a C guest to build for wasm32-wasi.
type Guest struct {
	Src      string   // the .c file
	Includes []string // extra -I directories (the SDK's sdk/c is always added)
	Defines  []string // -D flags: "NAME" or "NAME=VALUE"
}

// GuestWasm compiles a C guest with clang --target=wasm32-wasi (exporting
// the function table) and returns the .wasm path.
func (tc *Toolchain) GuestWasm(g Guest) (string, error) {
	src, err := filepath.Abs(g.Src)
	if err != nil {
		return "", err
	}
	name := strings.TrimSuffix(filepath.Base(src), ".c") + ".wasm"
	key := "wasm\x00" + src + "\x00" + strings.Join(g.Includes, "\x00") + "\x00\x00" + strings.Join(g.Defines, "\x00")
	dir, err := tc.once(key, func(out string) error {
		clang, err := lookTool("clang")
		if err != nil {
			return err
		}
		args := []string{"--target=wasm32-wasi", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
			"-Wl,--export-table", "-I" + filepath.Join(tc.root, "sdk", "c"), "-I" + filepath.Dir(src)}
		for _, inc := range g.Includes {
			args = append(args, "-I"+inc)
		}
		for _, d := range g.Defines {
			args = append(args, "-D"+d)
		}
		args = append(args, src, "-o", filepath.Join(out, name))
		return run(out, clang, args...)
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// CLI builds the wasm-bpf command (go build of the repository root) once
// and returns the binary's path.
//
// With $WASM_BPF_BIN set, CLI returns that binary instead of building one:
// scripts/test.sh runs the example tests a second time with the static
// release binary (scripts/build-static.sh) this way.
func (tc *Toolchain) CLI() (string, error) {
	if p := os.Getenv("WASM_BPF_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("$WASM_BPF_BIN: %w", err)
		}
		return abs, nil
	}
	// Never stored: the CLI is built from the tree as it is now.
	dir, err := tc.onceIn("cli", false, func(out string) error {
		goBin, err := goTool()
		if err != nil {
			return err
		}
		return run(tc.root, goBin, "build", "-o", filepath.Join(out, "wasm-bpf"), ".")
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "wasm-bpf"), nil
}

// The T variants report errors on t: a missing tool follows the CI rule, a
// build error fails the test.

// BPFObjectT is BPFObject reporting errors on t.
func (tc *Toolchain) BPFObjectT(t testing.TB, src string, defines ...string) string {
	t.Helper()
	start := time.Now()
	p, err := tc.BPFObject(src, defines...)
	check(t, "compile BPF object "+src, err)
	logSlow(t, "BPF object "+filepath.Base(src), start)
	return p
}

// BPFObjectNoBTFT is BPFObjectNoBTF reporting errors on t.
func (tc *Toolchain) BPFObjectNoBTFT(t testing.TB, src string, defines ...string) string {
	t.Helper()
	p, err := tc.BPFObjectNoBTF(src, defines...)
	check(t, "compile BPF object "+src, err)
	return p
}

// EmbedObjectT is EmbedObject reporting errors on t.
func (tc *Toolchain) EmbedObjectT(t testing.TB, obj, symbol string) string {
	t.Helper()
	p, err := tc.EmbedObject(obj, symbol)
	check(t, "embed "+obj, err)
	return p
}

// GuestWasmT is GuestWasm reporting errors on t.
func (tc *Toolchain) GuestWasmT(t testing.TB, g Guest) string {
	t.Helper()
	start := time.Now()
	p, err := tc.GuestWasm(g)
	check(t, "compile guest "+g.Src, err)
	logSlow(t, "guest "+filepath.Base(g.Src), start)
	return p
}

// CLIT is CLI reporting errors on t.
func (tc *Toolchain) CLIT(t testing.TB) string {
	t.Helper()
	start := time.Now()
	p, err := tc.CLI()
	check(t, "build wasm-bpf CLI", err)
	logSlow(t, "wasm-bpf CLI build", start)
	return p
}

func logSlow(t testing.TB, what string, start time.Time) {
	if d := time.Since(start); d > 2*time.Second {
		t.Logf("%s took %v", what, d.Round(time.Millisecond))
	}
}

// WriteCHeader writes a C header defining
//
//	static const unsigned char <symbol>[] = { ... };
//	static const unsigned int <symbol>_len = <len(data)>;
//
// symbol must be a C identifier.
func WriteCHeader(w io.Writer, symbol string, data []byte) error {
	if !isCIdent(symbol) {
		return fmt.Errorf("%q is not a C identifier", symbol)
	}
	guard := "TESTENV_EMBED_" + strings.ToUpper(symbol) + "_H"
	var b strings.Builder
	fmt.Fprintf(&b, "/* Generated by internal/testenv. Do not edit. */\n")
	fmt.Fprintf(&b, "#ifndef %s\n#define %s\n\n", guard, guard)
	fmt.Fprintf(&b, "static const unsigned char %s[] __attribute__((aligned(8))) = {", symbol)
	if len(data) == 0 {
		b.WriteString("\n\t0x00 /* placeholder: the data is empty */")
	}
	const perLine = 12
	for i, c := range data {
		if i%perLine == 0 {
			b.WriteString("\n\t")
		} else {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "0x%02x", c)
		if i != len(data)-1 {
			b.WriteByte(',')
		}
	}
	fmt.Fprintf(&b, "\n};\nstatic const unsigned int %s_len = %d;\n\n#endif\n", symbol, len(data))
	_, err := io.WriteString(w, b.String())
	return err
}

func isCIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
