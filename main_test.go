package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"golang.org/x/sys/unix"
)

// writeWat compiles a WAT module into a file in dir.
func writeWat(t *testing.T, dir, name, wat string) string {
	t.Helper()
	wasm, err := wasmtime.Wat2Wasm(wat)
	if err != nil {
		t.Fatalf("wat2wasm %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const helloWat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from the guest\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 21))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const 7))))`

// argsEnvWat writes its argv strings, then its environment strings, to
// stdout, each as WASI gives them (NUL-terminated).
const argsEnvWat = `(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $asz (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $aget (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $esz (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $eget (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $dump (param $buf i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $buf))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (drop (call $asz (i32.const 16) (i32.const 20)))
    (drop (call $aget (i32.const 1024) (i32.const 4096)))
    (call $dump (i32.const 4096) (i32.load (i32.const 20)))
    (drop (call $esz (i32.const 16) (i32.const 20)))
    (drop (call $eget (i32.const 1024) (i32.const 8192)))
    (call $dump (i32.const 8192) (i32.load (i32.const 20)))))`

// growWat grows its memory by 64 MiB and exits 42 if that failed.
const growWat = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 1024)) (i32.const -1))
      (then (call $exit (i32.const 42))))))`

// exitWat calls proc_exit(n), as wasi-libc's _start does when main returns n.
func exitWat(n int) string {
	return fmt.Sprintf(`(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const %d))))`, n)
}

// grow1GWat grows its memory to 1 GiB and 64 KiB and exits 42 if that
// failed.
const grow1GWat = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 16384)) (i32.const -1))
      (then (call $exit (i32.const 42))))))`

const spinWat = `(module (memory (export "memory") 1) (func (export "_start") (loop br 0)))`

// The CLI's own contract: exit codes and error messages that name the cause.
// None of these modules touch BPF.
func TestCLI(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "notwasm.wasm")
	os.WriteFile(notWasm, []byte("#!/bin/sh\necho hi\n"), 0o644)
	hello := writeWat(t, dir, "hello.wasm", helloWat)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"no module", nil, 2, "", "no module given"},
		{"missing file", []string{dir + "/nope.wasm"}, 1, "", "no such file or directory"},
		{"not wasm", []string{notWasm}, 1, "", "not a WebAssembly module"},
		{"component", []string{writeBytes(t, dir, "comp.wasm", []byte("\x00asm\x0d\x00\x01\x00"))}, 1, "", "component, not a core module"},
		{"no _start", []string{writeWat(t, dir, "lib.wasm", `(module (memory (export "memory") 1))`)}, 1, "", "exports no _start"},
		{"no memory", []string{writeWat(t, dir, "nomem.wasm", `(module (func (export "_start")))`)}, 1, "", "exports no memory"},
		{"env import", []string{writeWat(t, dir, "env.wasm", `(module (import "env" "printf" (func)) (memory (export "memory") 1) (func (export "_start")))`)},
			1, "", "imports env.printf, which this runtime does not provide: env imports come from WAMR's built-in libc"},
		{"unknown ABI function", []string{writeWat(t, dir, "abi.wasm", `(module (import "wasm_bpf" "wasm_bpf_fly" (func)) (memory (export "memory") 1) (func (export "_start")))`)},
			1, "", "wasm_bpf.wasm_bpf_fly, which this runtime does not provide: it is not a function of the wasm-bpf host ABI"},
		{"extension", []string{writeWat(t, dir, "ext.wasm", `(module (import "wasm_bpf_ext" "poll_batch" (func)) (memory (export "memory") 1) (func (export "_start")))`)},
			1, "", "wasm_bpf_ext extension"},
		{"renamed wrapper", []string{writeWat(t, dir, "wrap.wasm", `(module (import "cbw" "wasm_bpf_buffer_poll" (func (param i64 i32 i32 i32 i32 i32) (result i32))) (memory (export "memory") 1) (func (export "_start")))`)},
			1, "", "pass -m cbw"},
		{"renamed wrapper given", []string{"-m", "cbw", dir + "/wrap.wasm"}, 0, "", ""},
		{"wrong ABI signature", []string{writeWat(t, dir, "sig.wasm", `(module (import "wasm_bpf" "wasm_close_bpf_object" (func (param i32) (result i32))) (memory (export "memory") 1) (func (export "_start")))`)},
			1, "", "instantiate:"},
		{"stdout and proc_exit", []string{hello}, 7, "hello from the guest\n", ""},
		{"run command", []string{"run", hello}, 7, "hello from the guest\n", ""},
		{"trap", []string{writeWat(t, dir, "trap.wasm", `(module (memory (export "memory") 1) (func (export "_start") unreachable))`)},
			134, "", "unreachable"},
		{"start returns", []string{writeWat(t, dir, "ok.wasm", `(module (memory (export "memory") 1) (func (export "_start")))`)}, 0, "", ""},
		// main returning n is proc_exit(n): the process exits n & 0xff, as a native program.
		{"main returns -1", []string{writeWat(t, dir, "m1.wasm", exitWat(-1))}, 255, "", ""},
		{"proc_exit(126)", []string{writeWat(t, dir, "e126.wasm", exitWat(126))}, 126, "", ""},
		{"proc_exit(300)", []string{writeWat(t, dir, "e300.wasm", exitWat(300))}, 44, "", ""},
		{"version", []string{"--version"}, 0, "libbpf 1.", ""},
		// Help, not a module called help.
		{"help", []string{"help"}, 0, "COMMANDS:", ""},
		{"help command", []string{"help", "gen"}, 0, "wasm-bpf gen go [--package PACKAGE] FOO.bpf.o [TYPE...]", ""},
		{"gen --help names the subcommands' arguments", []string{"gen", "--help"}, 0, "wasm-bpf gen skeleton [--name NAME] FOO.bpf.o > foo.skel.h", ""},
		// Modules for another target, or linked so that the poll cannot work,
		// are refused before any of their code runs, with the fix.
		{"GOOS=js", []string{writeWat(t, dir, "js.wasm", `(module (import "gojs" "runtime.wasmExit" (func (param i32))) (memory (export "mem") 1) (func (export "run")))`)},
			1, "", "built for GOOS=js (a browser or Node.js: it imports gojs), not for WASI: build it with GOOS=wasip1 GOARCH=wasm"},
		{"wasm64", []string{writeWat(t, dir, "w64.wasm", `(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))) (memory (export "memory") i64 1) (func (export "_start")))`)},
			1, "", "the module is wasm64 (its memory is 64-bit), and wasm-bpf guests are wasm32: build it for wasm32-wasi (C: clang --target=wasm32-wasi; Go: GOOS=wasip1 GOARCH=wasm; Rust: --target wasm32-wasip1)"},
		{"bare wasm32", []string{writeWat(t, dir, "bare.wasm", `(module (memory (export "memory") 1) (func (export "add") (param i32 i32) (result i32) local.get 0))`)},
			1, "", "imports nothing from WASI and exports no _start: it was built for a bare wasm32 target, not for WASI; build it for wasm32-wasi"},
		{"poll without a function table", []string{writeWat(t, dir, "notable.wasm", `(module
		  (import "wasm_bpf" "wasm_bpf_buffer_poll" (func (param i64 i32 i32 i32 i32 i32 i32) (result i32)))
		  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
		  (memory (export "memory") 1) (func (export "_start") unreachable))`)},
			1, "", "imports wasm_bpf.wasm_bpf_buffer_poll, which calls its record callback through the function table, but exports no table __indirect_function_table: link it with -Wl,--export-table"},
		{"argv, no environment", []string{writeWat(t, dir, "argsenv.wasm", argsEnvWat), "a b", "-v"}, 0, dir + "/argsenv.wasm\x00a b\x00-v\x00", ""},
		{"environment", []string{"--env", "K=V", "--env", "EMPTY=", dir + "/argsenv.wasm"}, 0, "argsenv.wasm\x00K=V\x00EMPTY=\x00", ""},
		{"memory limit", []string{"--max-memory", "1MiB", writeWat(t, dir, "grow.wasm", growWat)}, 42, "", ""},
		{"default memory limit", []string{dir + "/grow.wasm"}, 0, "", ""},
		{"past the default memory limit", []string{writeWat(t, dir, "grow1g.wasm", grow1GWat)}, 42, "", ""},
		{"no memory limit", []string{"--max-memory", "0", dir + "/grow1g.wasm"}, 0, "", ""},
		{"initial memory over limit", []string{"--max-memory", "64KiB", writeWat(t, dir, "big.wasm", `(module (memory (export "memory") 2) (func (export "_start")))`)},
			1, "", "memory limit 65536 bytes"},
		{"bad size", []string{"--max-memory", "lots", dir + "/grow.wasm"}, 2, "", "--max-memory"},
		{"cpu limit", []string{"--cpu-limit", "100ms", writeWat(t, dir, "spin.wasm", spinWat)}, 1, "", "exceeded its CPU limit"},
		{"timeout", []string{"--timeout", "200ms", dir + "/spin.wasm"}, 1, "", "--timeout reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"wasm-bpf"}, tt.args...), strings.NewReader(""), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstderr: %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
		})
	}
}

func writeBytes(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The compile cache: a first run starts on Winch's code (and caches it, and
// Cranelift's, in the background: a run as short as this one may end
// first), a later run uses what the cache holds (`wasm-bpf compile` puts
// Cranelift's code there at once), a corrupt entry is ignored and
// rewritten, never run, and --no-cache neither reads nor writes.
func TestCLICompileCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	hello := writeWat(t, t.TempDir(), "hello.wasm", helloWat)
	// runHello runs it and returns the "module ready" line of the log.
	runHello := func(flags ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := append(append([]string{"wasm-bpf", "-v"}, flags...), hello)
		if code := run(args, nil, &stdout, &stderr); code != 7 || stdout.String() != "hello from the guest\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
		}
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.Contains(l, "module ready") {
				return l
			}
		}
		t.Fatalf("no \"module ready\" line in the log:\n%s", stderr.String())
		return ""
	}
	entries := func() []string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(cache, "wasm-bpf", "*.cwasm"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if l := runHello(); !strings.Contains(l, "compiler=winch from_cache=false") {
		t.Fatalf("first run: %s", l)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"wasm-bpf", "compile", hello}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("compile: exit %d, %s", code, stderr.String())
	}
	if l := runHello(); !strings.Contains(l, "compiler=cranelift from_cache=true") {
		t.Fatalf("run after compile: %s", l)
	}
	// Flip one byte of the native code of every entry: the checksum catches
	// it, and the next run compiles again.
	for _, e := range entries() {
		data, _ := os.ReadFile(e)
		data[len(data)-100] ^= 0xff
		os.WriteFile(e, data, 0o600)
	}
	corrupt := map[string][]byte{}
	for _, e := range entries() {
		corrupt[e], _ = os.ReadFile(e)
	}
	if l := runHello(); !strings.Contains(l, "from_cache=false") {
		t.Fatalf("run with corrupt entries: %s", l)
	}
	for e, data := range corrupt {
		if fixed, _ := os.ReadFile(e); bytes.Equal(fixed, data) {
			t.Fatalf("corrupt entry %s was left", e)
		}
	}
	// --no-cache neither reads nor writes.
	for _, e := range entries() {
		os.Remove(e)
	}
	if l := runHello("--no-cache"); !strings.Contains(l, "compiler=cranelift from_cache=false") {
		t.Fatalf("--no-cache: %s", l)
	}
	if e := entries(); len(e) != 0 {
		t.Fatalf("--no-cache wrote %v", e)
	}
}

// The guest gets exactly its argv and no environment unless --env says so.
func TestCLIArgsAndEnvExact(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("SECRET_OF_THE_HOST", "x")
	mod := writeWat(t, t.TempDir(), "argsenv.wasm", argsEnvWat)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{mod, "one"}, mod + "\x00one\x00"},
		{[]string{"--env", "A=1", mod}, mod + "\x00A=1\x00"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"wasm-bpf"}, tt.args...), nil, &stdout, &stderr); code != 0 || stdout.String() != tt.want {
			t.Errorf("%q: exit %d, stdout %q, want %q (stderr %s)", tt.args, code, stdout.String(), tt.want, stderr.String())
		}
	}
}

// terminal is a pseudo-terminal: what is written to tty is collected from
// its master side.
type terminal struct {
	tty  *os.File
	mu   sync.Mutex
	seen []byte
}

func openTerminal(t *testing.T) *terminal {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{tty: s}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			term.mu.Lock()
			term.seen = append(term.seen, buf[:n]...)
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { s.Close(); m.Close() })
	return term
}

// take returns what reached the terminal since the last take, after a
// moment for it to arrive.
func (term *terminal) take() string {
	time.Sleep(100 * time.Millisecond)
	term.mu.Lock()
	defer term.mu.Unlock()
	s := string(term.seen)
	term.seen = nil
	return s
}

// bigWat is a module with n functions of some length: Cranelift takes a
// while over it.
func bigWat(n int) string {
	var b strings.Builder
	b.WriteString("(module (memory (export \"memory\") 1)\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "(func (export \"f%d\") (param i32) (result i32) (local i32)\n", i)
		for j := 0; j < 20; j++ {
			fmt.Fprintf(&b, "  (local.set 1 (i32.add (i32.mul (local.get 0) (i32.const %d)) (local.get 1)))\n", i+j)
			b.WriteString("  (if (i32.gt_u (local.get 1) (local.get 0)) (then (local.set 0 (i32.load (local.get 1)))))\n")
		}
		b.WriteString("  (local.get 1))\n")
	}
	b.WriteString("(func (export \"_start\")))\n")
	return b.String()
}

// On a terminal, a start that compiles for longer than a moment says so,
// in one line; a start that is quick, or whose stderr is no terminal,
// prints nothing.
func TestCompileNotice(t *testing.T) {
	term := openTerminal(t)
	done := compileNotice(term.tty, "x.wasm", true, 0)
	time.Sleep(50 * time.Millisecond)
	done()
	if got := term.take(); got != "wasm-bpf: compiling x.wasm (first run; cached afterwards)\r\n" {
		t.Errorf("slow start with the cache: %q", got)
	}
	done = compileNotice(term.tty, "x.wasm", false, 0)
	time.Sleep(50 * time.Millisecond)
	done()
	if got := term.take(); got != "wasm-bpf: compiling x.wasm (the compile cache is off)\r\n" {
		t.Errorf("slow start without the cache: %q", got)
	}
	compileNotice(term.tty, "x.wasm", true, time.Hour)()
	if got := term.take(); got != "" {
		t.Errorf("quick start: %q", got)
	}
	var buf bytes.Buffer
	done = compileNotice(&buf, "x.wasm", true, 0)
	time.Sleep(50 * time.Millisecond)
	done()
	if buf.Len() != 0 {
		t.Errorf("not a terminal: %q", buf.String())
	}

	// The CLI, compiling a module that takes Cranelift more than a moment.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	big := writeWat(t, t.TempDir(), "big.wasm", bigWat(2000))
	var stdout bytes.Buffer
	start := time.Now()
	if code := run([]string{"wasm-bpf", "--no-cache", big}, nil, &stdout, term.tty); code != 0 {
		t.Fatalf("exit %d", code)
	}
	took := time.Since(start)
	got := term.take()
	if took > compileNoticeDelay+100*time.Millisecond && got != "wasm-bpf: compiling big.wasm (the compile cache is off)\r\n" {
		t.Errorf("a %v start printed %q", took.Round(time.Millisecond), got)
	}
	if took < compileNoticeDelay {
		t.Logf("the compile took only %v: nothing to say", took)
	}
}
