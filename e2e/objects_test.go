package e2e

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/wasm-bpf/wasm-bpf/internal/objcheck"
	"github.com/wasm-bpf/wasm-bpf/internal/objfuzz"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// Hostile whole objects, through the real load path: a guest
// (testdata/loader.c) hands each object the test sends it to
// wasm_load_bpf_object in a wasm-bpf process of its own, so that a crash or
// a hang of the runtime is seen from outside and does not end the test.

var (
	objFuzzTime   = flag.Duration("objfuzz.time", 30*time.Second, "how long TestObjectFuzz mutates objects")
	objFuzzOut    = flag.String("objfuzz.out", "", "directory for the objects that crash or hang the runtime (default: a new temporary directory)")
	objFuzzReplay = flag.String("objfuzz.replay", "", "load the objects of this file or directory (saved by TestObjectFuzz) instead of fuzzing")
)

// loadTimeout bounds one load: the verifier takes milliseconds for these
// objects, so a load still running after it is taken for a hang (and tried
// once more, for confirmHang, before it is reported).
const (
	loadTimeout = 15 * time.Second
	confirmHang = 60 * time.Second
)

// loader is a running testdata/loader.c guest.
type loader struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // the guest's stdout, closed when it ends
	stderr *tailBuffer
	done   chan struct{}
}

func startLoader(t *testing.T, wasm string, flags ...string) *loader {
	t.Helper()
	cmd := exec.Command(tc.CLIT(t), append(flags, wasm)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	l := &loader{cmd: cmd, stdin: stdin, lines: make(chan string, 16), stderr: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	cmd.Stderr = l.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			l.lines <- s.Text()
		}
		close(l.lines)
		cmd.Wait()
		close(l.done)
	}()
	t.Cleanup(l.kill)
	return l
}

// outcome is what one load did to the runtime.
type outcome int

const (
	loaded outcome = iota
	refused
	crashed // the runtime process ended
	hung    // no answer within the timeout
)

// load sends obj and waits for the guest's answer.
func (l *loader) load(obj []byte, timeout time.Duration) (outcome, string) {
	frame := binary.LittleEndian.AppendUint32(nil, uint32(len(obj)))
	if _, err := l.stdin.Write(append(frame, obj...)); err != nil {
		return l.crash()
	}
	select {
	case line, ok := <-l.lines:
		switch {
		case !ok:
			return l.crash()
		case line == "handle 0":
			return refused, line
		case strings.HasPrefix(line, "handle "):
			return loaded, line
		}
		return crashed, "unexpected output " + strconv.Quote(line)
	case <-time.After(timeout):
		l.kill()
		return hung, fmt.Sprintf("no answer within %v", timeout)
	}
}

func (l *loader) crash() (outcome, string) {
	<-l.done
	return crashed, fmt.Sprintf("wasm-bpf ended: %v", l.cmd.ProcessState)
}

func (l *loader) kill() {
	select {
	case <-l.done:
	default:
		l.cmd.Process.Kill()
		<-l.done
	}
}

// close ends the guest's input and waits for it to exit.
func (l *loader) close(t *testing.T) {
	t.Helper()
	l.stdin.Close()
	select {
	case <-l.done:
	case <-time.After(exitTimeout):
		l.kill()
		t.Fatalf("the loader guest did not exit at the end of its input")
	}
	if code := l.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the loader guest exited %d\n%s", code, l.stderr)
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// eventsObject compiles testdata/events.bpf.c and prepares it for mutation.
func eventsObject(t *testing.T) *objfuzz.Object {
	t.Helper()
	data, err := os.ReadFile(tc.BPFObjectT(t, filepath.Join("testdata", "events.bpf.c")))
	if err != nil {
		t.Fatal(err)
	}
	o, err := objfuzz.Parse("events.bpf.o", data)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func refOf(t *testing.T, o *objfuzz.Object, match func(objfuzz.Ref) bool) objfuzz.Ref {
	t.Helper()
	for _, r := range o.Refs() {
		if match(r) {
			return r
		}
	}
	t.Fatalf("no such type reference among %d", len(o.Refs()))
	return objfuzz.Ref{}
}

// Objects that hang libbpf 1.4.6 or crash the host's own reading of them
// are refused: the load returns 0 at once, the debug log names what is
// wrong, and the runtime goes on loading objects.
func TestHostileObjectsRefused(t *testing.T) {
	testenv.RequireBPF(t)
	o := eventsObject(t)
	wasm := guestWasm(t, "loader", nil)
	isKind := func(kind string) func(objfuzz.Ref) bool {
		return func(r objfuzz.Ref) bool { return strings.HasPrefix(r.What, kind+" ") }
	}
	typedef := refOf(t, o, isKind("Typedef"))
	mapVar := refOf(t, o, func(r objfuzz.Ref) bool { return r.InMaps && strings.HasPrefix(r.What, "Var ") })
	member := refOf(t, o, func(r objfuzz.Ref) bool { return r.InMaps && strings.HasPrefix(r.What, "Struct ") })
	structSelf := refOf(t, o, func(r objfuzz.Ref) bool {
		return strings.HasPrefix(r.What, "Struct event ") || strings.HasPrefix(r.What, "Struct task_struct ")
	})

	// A chain of 600000 qualifiers ahead of a map's definition: decoding
	// it would recurse past Go's 1 GiB stack limit.
	deep, err := o.WithChain("rb", 600000)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		obj  []byte
		want string // in the debug log
	}{
		{"typedef-names-itself", o.With(
			objfuzz.Edit{Offset: typedef.Offset, Value: uint32(typedef.Holder)},
			objfuzz.Edit{Offset: mapVar.Offset, Value: uint32(typedef.Holder)}),
			fmt.Sprintf("[%d] contains itself", typedef.Holder)},
		{"struct-contains-itself", o.With(objfuzz.Edit{Offset: structSelf.Offset, Value: uint32(structSelf.Holder)}),
			fmt.Sprintf("[%d] contains itself", structSelf.Holder)},
		{"map-variable-type-past-the-last", o.With(objfuzz.Edit{Offset: mapVar.Offset, Value: o.NumTypes() + 1}),
			fmt.Sprintf("type id %d: not found", o.NumTypes()+1)},
		{"map-member-type-past-the-last", o.With(objfuzz.Edit{Offset: member.Offset, Value: o.NumTypes() + 1}),
			fmt.Sprintf("type id %d: not found", o.NumTypes()+1)},
		{"600000-types-deep", deep, fmt.Sprintf("more than the %d allowed", objcheck.MaxTypeBytes)},
	}
	l := startLoader(t, wasm, "-v")
	for _, c := range cases {
		start := time.Now()
		got, detail := l.load(c.obj, 10*time.Second)
		took := time.Since(start)
		t.Logf("%s: %s after %v", c.name, detail, took.Round(time.Millisecond))
		if got != refused {
			t.Fatalf("%s: %s, want handle 0\n%s", c.name, detail, l.stderr)
		}
		// The log comes on stderr, which may lag behind stdout.
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(l.stderr.String(), c.want); {
			if time.Now().After(deadline) {
				t.Errorf("%s: the debug log does not say %q:\n%s", c.name, c.want, l.stderr)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if got, detail := l.load(o.Data(), 10*time.Second); got != loaded {
		t.Fatalf("the unchanged object after the hostile ones: %s\n%s", detail, l.stderr)
	}
	l.close(t)
}

// seedObjects are the fuzz target's seeds: every BPF object the e2e tests
// and the examples build.
func seedObjects(t *testing.T) []*objfuzz.Object {
	t.Helper()
	var seeds []*objfuzz.Object
	add := func(name, path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		o, err := objfuzz.Parse(name, data)
		if err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		seeds = append(seeds, o)
	}
	srcs, _ := filepath.Glob(filepath.Join("testdata", "*.bpf.c"))
	if len(srcs) == 0 {
		t.Fatal("no testdata/*.bpf.c: run the test from e2e/ (scripts/kernel-matrix.sh puts them into its VMs)")
	}
	for _, src := range srcs {
		if filepath.Base(src) == "slow.bpf.c" {
			continue // seconds in the verifier, by design
		}
		add(filepath.Base(src), tc.BPFObjectT(t, src))
	}
	// The examples' objects exist once `make -C examples` has run, as
	// scripts/test.sh does before the tests.
	objs, _ := filepath.Glob(filepath.Join(tc.RepoRoot(), "examples", "*", "*.bpf.o"))
	n := 0
	for _, p := range objs {
		if !strings.HasSuffix(p, ".tmp.bpf.o") {
			add(strings.TrimPrefix(p, tc.RepoRoot()+"/"), p)
			n++
		}
	}
	if n == 0 {
		if testenv.InCI() {
			t.Fatal("no examples/*/*.bpf.o: scripts/test.sh builds them before the tests")
		}
		t.Log("no examples/*/*.bpf.o (make -C examples builds them): fuzzing the e2e objects only")
	}
	return seeds
}

// kernelMemoryLimit keeps mutants from asking the kernel for much memory:
// a changed max_entries can ask for gigabytes, which the machine's other
// users would miss.
const kernelMemoryLimit = 64 << 20

// kernelBytes estimates what the object's maps take in the kernel, from
// cilium/ebpf's reading of it (which the runtime's own check repeats: an
// object it cannot read never reaches the kernel).
func kernelBytes(obj []byte) (n uint64, ok bool) {
	defer func() {
		if recover() != nil {
			n, ok = 0, false
		}
	}()
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return 0, false
	}
	cpus := uint64(runtime.NumCPU())
	for _, m := range spec.Maps {
		entries, kv := uint64(m.MaxEntries), uint64(m.KeySize)+uint64(m.ValueSize)
		switch m.Type {
		case ebpf.RingBuf:
			n += entries
		case ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUCPUHash, ebpf.PerCPUCGroupStorage:
			n += entries * (kv + 64) * cpus
		default:
			n += entries * (kv + 64)
		}
	}
	return n, true
}

// TestObjectFuzz loads mutants of valid objects (random byte changes, and
// type references pointed at their own type or past the last one) through
// the whole load path of a running guest: the Go check, libbpf's
// bpf_object__open_mem and bpf_object__load, and the kernel. Whatever
// crashes or hangs the runtime is saved and reported.
//
// It runs for -objfuzz.time (30 s by default); -objfuzz.replay loads saved
// objects again.
func TestObjectFuzz(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "loader", nil)
	if *objFuzzReplay != "" {
		replayObjects(t, wasm, *objFuzzReplay)
		return
	}
	seeds := seedObjects(t)
	out := *objFuzzOut
	var err error
	if out == "" {
		out, err = os.MkdirTemp("", "wasm-bpf-objfuzz-")
	} else {
		err = os.MkdirAll(out, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>32))
	t.Logf("%d seed objects; random seed %d; findings go to %s", len(seeds), seed, out)

	var stats struct{ execs, loaded, refusedInGo, refusedLater, skipped, findings int }
	l := startLoader(t, wasm)
	start := time.Now()
	deadline := start.Add(*objFuzzTime)
	for i := 0; time.Now().Before(deadline); i++ {
		s := seeds[i%len(seeds)]
		m := objfuzz.Mutant{Data: s.Data(), What: "unchanged"}
		if i >= len(seeds) { // each seed once as it is, first
			m = s.Mutate(rng)
		}
		if n, ok := kernelBytes(m.Data); ok && n > kernelMemoryLimit {
			stats.skipped++
			continue
		}
		got, detail := l.load(m.Data, loadTimeout)
		stats.execs++
		if got == hung {
			// A slow machine is not a hang: the same object again, with
			// more time, in a fresh runtime.
			l2 := startLoader(t, wasm)
			if got2, detail2 := l2.load(m.Data, confirmHang); got2 != hung {
				t.Logf("%s (%s): slow: %s, then %s", s.Name, m.What, detail, detail2)
				got, detail = got2, detail2
			}
			l2.kill()
		}
		switch got {
		case loaded:
			stats.loaded++
		case refused:
			// The runtime's check did not crash the child on this object,
			// so it is safe to run it here, to tell who refused it.
			if objcheck.Check(m.Data) != nil {
				stats.refusedInGo++
			} else {
				stats.refusedLater++
			}
		default:
			stats.findings++
			saveFinding(t, out, stats.findings, s.Name, m, detail, l.stderr.String())
			l = startLoader(t, wasm)
		}
	}
	took := time.Since(start)
	l.close(t)
	t.Logf("%d objects in %v: %.0f/s; loaded %d, refused by the Go check %d, refused by libbpf or the kernel %d; "+
		"%d mutants not loaded for the kernel memory they ask (> %d MiB); %d crashes or hangs",
		stats.execs, took.Round(time.Millisecond), float64(stats.execs)/took.Seconds(),
		stats.loaded, stats.refusedInGo, stats.refusedLater, stats.skipped, kernelMemoryLimit>>20, stats.findings)
	if stats.findings == 0 && *objFuzzOut == "" {
		os.RemoveAll(out)
	}
}

// saveFinding writes the object and what is known about it to dir.
func saveFinding(t *testing.T, dir string, n int, seed string, m objfuzz.Mutant, detail, stderr string) {
	t.Helper()
	base := filepath.Join(dir, fmt.Sprintf("finding-%d", n))
	if err := os.WriteFile(base+".o", m.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	note := fmt.Sprintf("seed: %s\nmutation: %s\noutcome: %s\n--- wasm-bpf stderr (tail) ---\n%s", seed, m.What, detail, stderr)
	if err := os.WriteFile(base+".txt", []byte(note), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Errorf("%s: %s; the object is %s.o (replay: go test ./e2e -run TestObjectFuzz -objfuzz.replay=%s.o)\n%s",
		seed, detail, base, base, note)
}

// replayObjects loads saved objects, each in a fresh runtime, with the
// debug log.
func replayObjects(t *testing.T, wasm, path string) {
	paths := []string{path}
	if st, err := os.Stat(path); err != nil {
		t.Fatal(err)
	} else if st.IsDir() {
		paths, _ = filepath.Glob(filepath.Join(path, "*.o"))
		sort.Strings(paths)
	}
	for _, p := range paths {
		obj, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		l := startLoader(t, wasm, "-v")
		got, detail := l.load(obj, confirmHang)
		if got == crashed || got == hung {
			t.Errorf("%s: %s\n%s", p, detail, l.stderr)
			continue
		}
		t.Logf("%s: %s", p, detail)
		l.close(t)
	}
}
