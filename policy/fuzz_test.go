package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// exampleObjects are the BPF objects of the examples (make -C examples
// builds them): the seeds of the fuzz targets.
func exampleObjects(t testing.TB) map[string][]byte {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "examples", "*", "*.bpf.o"))
	objs := map[string][]byte{}
	for _, f := range files {
		if strings.HasSuffix(f, ".tmp.bpf.o") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs[filepath.Base(filepath.Dir(f))] = data
	}
	if len(objs) == 0 {
		testenv.Unavailable(t, "no examples/*/*.bpf.o: run make -C examples")
	}
	return objs
}

// FuzzAnalyze: on any input the analysis returns or fails, never panics
// (analyze runs without Analyze's recover here); and on an object the
// kernel loads, no program calls a helper, as the kernel's xlated
// instructions show it, that the analysis did not report (for the program
// and for the object's code as a whole). Seeds: the examples' objects.
func FuzzAnalyze(f *testing.F) {
	for _, name := range sortedNames(exampleObjects(f)) {
		f.Add(exampleObjects(f)[name])
	}
	kernel := testenv.CheckBPF() == nil
	if !kernel && testenv.InCI() {
		f.Fatalf("FuzzAnalyze compares with the kernel: %v", testenv.CheckBPF())
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
		if err != nil {
			return
		}
		a, err := analyze(obj, spec, 2)
		if err != nil || !kernel {
			return
		}
		for _, prog := range loaded(t, obj) {
			p, ok := a.Program(prog.name)
			if !ok {
				t.Fatalf("the kernel loaded program %q, which the analysis does not list", prog.name)
			}
			for _, h := range prog.helpers {
				if !slices.ContainsFunc(p.Helpers, func(x Helper) bool { return x.Name == h }) {
					t.Errorf("program %q calls %s in the kernel; the analysis reports %v", p.Name, h, p.Helpers)
				}
				if !slices.ContainsFunc(a.Helpers, func(x Helper) bool { return x.Name == h }) {
					t.Errorf("program %q calls %s in the kernel; the object's code scan reports %v", p.Name, h, a.Helpers)
				}
			}
		}
	})
}

func sortedNames(m map[string][]byte) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

type loadedProg struct {
	name    string
	helpers []string
}

// loaded loads obj with cilium/ebpf (the oracle here is the kernel's view,
// not a loader's) and returns what the kernel says each program calls;
// nothing if it does not load.
func loaded(t *testing.T, obj []byte) (progs []loadedProg) {
	defer func() {
		// A loader's panic on a mutated object is not the analysis'.
		if r := recover(); r != nil {
			progs = nil
		}
	}()
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return nil
	}
	var mem uint64
	for _, m := range spec.Maps {
		m.Pinning = ebpf.PinNone
		mem = addSat(mem, mapMemory(m, 2))
	}
	if mem > 64<<20 {
		return nil // not worth the kernel's memory here
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil
	}
	defer coll.Close()
	for name, p := range coll.Programs {
		helpers, err := testenv.KernelHelpers(p)
		if err != nil {
			t.Fatalf("program %q: %v", name, err)
		}
		progs = append(progs, loadedProg{name, helpers})
	}
	return progs
}

// TestKernelHelpersOracle: FuzzAnalyze's oracle sees what the examples'
// programs call, map helpers and the compat rewrites included, so that a
// helper the analysis missed would show.
func TestKernelHelpersOracle(t *testing.T) {
	testenv.RequireBPF(t)
	objs := exampleObjects(t)
	progs := loaded(t, objs["bootstrap"])
	if len(progs) != 2 {
		t.Fatalf("bootstrap: %d programs loaded, want 2", len(progs))
	}
	for _, p := range progs {
		for _, want := range []string{"bpf_get_current_pid_tgid", "bpf_ringbuf_reserve", "bpf_ringbuf_submit", "bpf_probe_read_kernel"} {
			if !slices.Contains(p.helpers, want) {
				t.Errorf("%s: the kernel's view %v lacks %s", p.name, p.helpers, want)
			}
		}
	}
	for _, p := range progs {
		switch p.name {
		case "handle_exec":
			for _, want := range []string{"bpf_map_update_elem", "bpf_probe_read_str"} {
				if !slices.Contains(p.helpers, want) {
					t.Errorf("%s: the kernel's view %v lacks %s", p.name, p.helpers, want)
				}
			}
		case "handle_exit":
			for _, want := range []string{"bpf_map_lookup_elem", "bpf_map_delete_elem"} {
				if !slices.Contains(p.helpers, want) {
					t.Errorf("%s: the kernel's view %v lacks %s", p.name, p.helpers, want)
				}
			}
		}
	}
}
