package examples_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// inspectJSON is the part of `wasm-bpf inspect --json` (docs/inspect.md)
// the test reads.
type inspectJSON struct {
	Version int             `json:"version"`
	Needs   []string        `json:"needs"`
	Objects []inspectObject `json:"objects"`
}

type inspectObject struct {
	SHA256   string           `json:"sha256"`
	Error    string           `json:"error"`
	Programs []inspectProgram `json:"programs"`
	Maps     []inspectMap     `json:"maps"`
}

type inspectProgram struct {
	Name         string          `json:"name"`
	Section      string          `json:"section"`
	Type         string          `json:"type"`
	AttachType   uint32          `json:"attachType"`
	Instructions int             `json:"instructions"`
	Helpers      []inspectHelper `json:"helpers"`
}

type inspectHelper struct {
	ID   int32  `json:"id"`
	Name string `json:"name"`
}

type inspectMap struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	KeySize    uint32 `json:"keySize"`
	ValueSize  uint32 `json:"valueSize"`
	MaxEntries uint32 `json:"maxEntries"`
	Memory     uint64 `json:"memory"`
}

// TestInspectExamples: `wasm-bpf inspect` on every example finds the one
// object the example embeds (byte for byte its .bpf.o), says it needs what
// the example is run with (allow), and describes what loads: libbpf's view
// of each program and map, the instructions libbpf hands the kernel, the
// helpers the kernel's xlated program calls, and each map's kernel memory
// (at most the estimate).
func TestInspectExamples(t *testing.T) {
	dir := examplesDir(t)
	wasms, _ := filepath.Glob(filepath.Join(dir, "*", "*.wasm"))
	if len(wasms) < 10 {
		t.Fatalf("only %d example modules in %s", len(wasms), dir)
	}
	for _, wasm := range wasms {
		name := strings.TrimSuffix(filepath.Base(wasm), ".wasm")
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(tc.CLIT(t), "inspect", "--json", wasm).Output()
			if err != nil {
				t.Fatalf("inspect: %v", err)
			}
			var rep inspectJSON
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Version != 1 || len(rep.Objects) != 1 || rep.Objects[0].Error != "" {
				t.Fatalf("inspect found %d objects (version %d): %s", len(rep.Objects), rep.Version, out)
			}
			if want := allow[name]; !slices.Equal(rep.Needs, append([]string{}, want...)) {
				t.Errorf("inspect says it needs %v; the tests run it with %v", rep.Needs, want)
			}
			objs, _ := filepath.Glob(filepath.Join(filepath.Dir(wasm), "*.bpf.o"))
			objs = slices.DeleteFunc(objs, func(p string) bool { return strings.HasSuffix(p, ".tmp.bpf.o") })
			if len(objs) != 1 {
				t.Fatalf("objects beside %s: %v", wasm, objs)
			}
			data, err := os.ReadFile(objs[0])
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			obj := rep.Objects[0]
			if obj.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("the object inspect found is not %s", objs[0])
			}
			compareLoaded(t, name, data, obj)
		})
	}
}

// compareLoaded loads the object as the host does and compares.
func compareLoaded(t *testing.T, name string, data []byte, obj inspectObject) {
	o, err := libbpf.Open("wbinsp", data, libbpf.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.NoPinning(); err != nil {
		t.Fatal(err)
	}
	progs := o.Programs()
	if len(progs) != len(obj.Programs) {
		t.Fatalf("libbpf has %d programs, inspect %d", len(progs), len(obj.Programs))
	}
	for i, p := range obj.Programs {
		lp := progs[slices.IndexFunc(progs, func(lp *libbpf.Program) bool { return lp.Name() == p.Name })]
		if lp.Section() != p.Section || lp.Type().String() != p.Type || lp.ExpectedAttachType() != p.AttachType {
			t.Errorf("program %d %s: libbpf %s %s %d, inspect %s %s %d", i, p.Name, lp.Section(), lp.Type(), lp.ExpectedAttachType(), p.Section, p.Type, p.AttachType)
		}
	}
	if err := o.Load(); err != nil {
		// The kernels that refuse LSM and trampolines (this project's
		// development machine) answer EPERM; scripts/kernel-matrix.sh's VMs
		// load them, and must.
		if feature := map[string]string{"lsm": "lsm", "go-lsm": "lsm", "fentry": "fentry"}[name]; errors.Is(err, syscall.EPERM) && feature != "" && !testenv.Required(feature) {
			t.Logf("the kernel refuses %s programs here: compared libbpf's view before load only", feature)
			return
		}
		t.Fatal(err)
	}
	for _, p := range obj.Programs {
		lp, _ := o.Program(p.Name)
		if lp.InsnCount() != p.Instructions {
			t.Errorf("program %s: libbpf loads %d instructions, inspect counts %d", p.Name, lp.InsnCount(), p.Instructions)
		}
		prog := fromFD[ebpf.Program](t, lp.FD(), ebpf.NewProgramFromFD)
		kernel, err := testenv.KernelHelpers(prog)
		prog.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range kernel {
			if !slices.ContainsFunc(p.Helpers, func(x inspectHelper) bool { return x.Name == h }) {
				t.Errorf("program %s calls %s in the kernel; inspect lists %v", p.Name, h, p.Helpers)
			}
		}
	}
	chargesUsage := memlockIsUsage(t)
	maps := o.Maps()
	if len(maps) != len(obj.Maps) {
		t.Fatalf("libbpf has %d maps, inspect %d", len(maps), len(obj.Maps))
	}
	for _, lm := range maps {
		i := slices.IndexFunc(obj.Maps, func(m inspectMap) bool {
			return m.Name == lm.Name() || strings.HasPrefix(m.Name, ".") && strings.HasSuffix(lm.Name(), m.Name)
		})
		if i < 0 {
			t.Errorf("map %s: not in inspect's list", lm.Name())
			continue
		}
		m := obj.Maps[i]
		km := fromFD[ebpf.Map](t, lm.FD(), ebpf.NewMapFromFD)
		info, err := km.Info()
		km.Close()
		if err != nil {
			t.Fatal(err)
		}
		if lm.Type().String() != m.Type || info.KeySize != m.KeySize || info.ValueSize != m.ValueSize || info.MaxEntries != m.MaxEntries && m.Type != "perf_event_array" {
			t.Errorf("map %s: kernel %s %d %d %d, inspect %s %d %d %d", m.Name, lm.Type(), info.KeySize, info.ValueSize, info.MaxEntries, m.Type, m.KeySize, m.ValueSize, m.MaxEntries)
		}
		if memlock, ok := info.Memlock(); chargesUsage && (!ok || memlock > m.Memory) {
			t.Errorf("map %s: the kernel charges %d bytes, more than inspect's estimate %d", m.Name, memlock, m.Memory)
		}
	}
}

// memlockIsUsage reports whether the kernel's "memlock" (a map's fdinfo)
// is the memory the map uses, which inspect's estimate must cover: from
// Linux 6.4 (commit 90a5527d7686, "bpf: add new map ops ->map_mem_usage")
// it is each map type's map_mem_usage. From 5.11 to 6.3 it was
// bpf_map_memory_footprint(), round_up(max_entries * round_up(key_size +
// value_size, 8), PAGE_SIZE): a figure of the map's shape that says nothing
// of ring buffers (0: no key or value) or hash maps' element headers.
func memlockIsUsage(t *testing.T) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	var major, minor int
	if _, err := fmt.Sscanf(release, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("kernel release %q: %v", release, err)
	}
	if major < 6 || major == 6 && minor < 4 {
		t.Logf("kernel %s: its memlock figures are not memory use (before 6.4), not compared with inspect's", release)
		return false
	}
	return true
}

// fromFD opens a duplicate of a libbpf-owned fd as a cilium/ebpf object.
func fromFD[T any](t *testing.T, fd int, open func(int) (*T, error)) *T {
	t.Helper()
	dup, err := syscall.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	v, err := open(dup)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
