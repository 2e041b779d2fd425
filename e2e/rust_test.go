package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/sdk/gen"
)

// rustObjects are the BPF objects the Rust guest embeds, by the suffix of
// their WBR_*_OBJ build variable.
var rustObjects = map[string]string{"EVENTS": "events", "MAPS": "maps", "RUSTSDK": "rustsdk", "REJECT": "reject"}

var (
	rustCrateOnce sync.Once
	rustCrateDir  string
	rustCrateErr  error
)

// rustGuest builds testdata/rust (see its main.rs) with the given cargo
// features and returns the module's path. The crate is copied once per test
// binary, with the SDK's path made absolute and maps_bpf.rs and
// rustsdk_bpf.rs written by gen rust, so the source tree stays clean. The
// copy and the guests go to the toolchain's store, if it has one: the
// kernel matrix's VMs, which have neither cargo nor testdata, take them
// from there.
func rustGuest(t *testing.T, features ...string) string {
	t.Helper()
	objs := map[string]string{}
	var env []string
	for k, name := range rustObjects {
		objs[name] = tc.BPFObjectT(t, filepath.Join("testdata", name+".bpf.c"))
		env = append(env, "WBR_"+k+"_OBJ="+objs[name])
	}
	sort.Strings(env) // the same build, the same memo key

	rustCrateOnce.Do(func() { rustCrateDir, rustCrateErr = rustCrate(objs) })
	if rustCrateErr != nil {
		t.Fatal(rustCrateErr)
	}
	return tc.RustGuestWasmT(t, testenv.RustGuest{Dir: rustCrateDir, Bin: "guest", Features: features, Env: env})
}

// rustCrate is the copy of testdata/rust that rustGuest builds, in a
// directory whose path is the same in every run with the same store (the
// guests' key in the store holds it).
func rustCrate(objs map[string]string) (string, error) {
	return tc.Stored("e2e-rust-crate", func(dst string) error { return writeRustCrate(dst, objs) })
}

func writeRustCrate(dst string, objs map[string]string) error {
	src, err := filepath.Abs(filepath.Join("testdata", "rust"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dst, "src"), 0o755); err != nil {
		return err
	}
	for _, f := range []string{"Cargo.toml", "build.rs", "src/main.rs"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return err
		}
		if f == "Cargo.toml" {
			b = bytes.ReplaceAll(b, []byte(`"../../../sdk/rust"`), []byte(strconv.Quote(filepath.Join(tc.RepoRoot(), "sdk", "rust"))))
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			return err
		}
	}
	for _, name := range []string{"maps", "rustsdk"} {
		raw, err := os.ReadFile(objs[name])
		if err != nil {
			return err
		}
		o, err := gen.LoadObject(raw)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := gen.WriteRust(&b, o, objs[name], nil); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, "src", name+"_bpf.rs"), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// TestRustEvents: the Rust guest reports every exec through a ring buffer
// and a perf buffer, on the classic poll (a closure called through the
// exported function table) and on the batched one (feature ext), also when
// its callback stops the poll every few records.
func TestRustEvents(t *testing.T) {
	testenv.RequireBPF(t)
	for _, build := range []struct {
		name     string
		features []string
	}{{"classic", nil}, {"ext", []string{"ext"}}} {
		wasm := rustGuest(t, build.features...)
		imports := bytes.Contains(mustRead(t, wasm), []byte("wasm_bpf_ext"))
		if imports != (build.name == "ext") {
			t.Errorf("%s build: imports wasm_bpf_ext = %v", build.name, imports)
		}
		for _, mode := range []string{"ring", "perf"} {
			for _, stopEvery := range []string{"", "7"} {
				name, n := build.name+"-"+mode, eventsN
				if stopEvery != "" {
					name, n = name+"-stop-every-"+stopEvery, 50
				}
				t.Run(name, func(t *testing.T) {
					id := runID()
					prefix, stop := "wbr"+id, "wbr"+id+"stop"
					args := []string{"events", mode, stop}
					if stopEvery != "" {
						args = append(args, stopEvery)
					}
					g := startCLI(t, nil, wasm, args...)
					res := runEventsScenario(t, g, newSpawner(t), prefix, stop, n)
					if !hasLine(g, "close 0") {
						g.fatalf(`missing the guest's last line "close 0"`)
					}
					if stopEvery != "" && hasLine(g, "stops 0") {
						g.fatalf("the callback never stopped a poll")
					}
					t.Logf("Rust %s, %d processes: %s", name, n, res)
				})
			}
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRustMaps runs maps.c's scenario with the Rust guest: typed maps from
// gen rust, get-next-key iteration, update, delete, lookups.
func TestRustMaps(t *testing.T) {
	testenv.RequireBPF(t)
	runMapsScenario(t, rustGuest(t), "maps")
}

// rustCases is what the Rust guest's cases mode must print: the SDK
// refuses what the runtime would misread (sizes, kinds, names) before the
// call, and surfaces the kernel's and the runtime's errors as errnos.
var rustCases = map[string]string{
	"load_empty": "-22", "load_garbage": "-22", "load_truncated": "-22", "load_verifier_reject": "-22",
	"set_unknown": "-2", "set_wrong_size": "-22", "set_bss": "-22", "set_ro": "0",
	"map_unknown": "-2", "ring_on_hash": "-22", "perf_on_ring": "-22",
	"ring": "0", "buffer_size_4": "-22", "consume": "0",
	"key_short": "-22", "value_short": "-22", "delete_key_long": "-22", "typed_wrong": "-22",
	"percpu_lookup": "-95", "percpu_typed": "-95",
	"lookup_missing": "none", "update": "0", "update_noexist": "-17", "update_exist_missing": "-2",
	"lookup_present": "42", "keys": "1", "delete": "0", "delete_missing": "-2", "keys_empty": "0",
	"bytes_update": "0", "bytes_lookup": "99",
	"attach_unknown": "-2", "attach_socket_no_target": "-22", "attach_socket_no_iface": "-19", "attach_name_nul": "-22",
	"rodata_value": "12345", "data_value": "5", "attach_prog": "0",
	"bss_after_exec": "12350",
}

// rustMessages are substrings of the errors' messages: the cause, said
// where the crate knows it.
var rustMessages = map[string]string{
	"load_garbage":           "load: invalid argument (EINVAL): not an ELF file",
	"load_verifier_reject":   "wasm-bpf -v",
	"set_unknown":            "the object's global variables are: wbr_bss, wbr_data, wbr_ro",
	"set_wrong_size":         "a value of 4 bytes for a variable of 8",
	"set_bss":                ".bss has no initial bytes in the object",
	"map_unknown":            "map nosuch: no such file or directory (ENOENT): the object's maps are: .bss, .data, .rodata, wbr_hash, wbr_pcpu, wbr_rb",
	"ring_on_hash":           "map wbr_hash is of type 1 (enum bpf_map_type), not a ring buffer",
	"key_short":              "map lookup wbr_hash: invalid argument (EINVAL): a key of 3 bytes for a map of 4-byte keys",
	"value_short":            "a value of 4 bytes for a map of 8-byte values",
	"typed_wrong":            "a key of 8 bytes for a map of 4-byte keys",
	"percpu_lookup":          "per-CPU",
	"update_noexist":         "map update wbr_hash: file exists (EEXIST)",
	"attach_unknown":         "attach nosuch: no such file or directory (ENOENT)",
	"attach_socket_no_iface": "attach wbr_sock: no such device (ENODEV): no network interface wbrnosuch0",
}

// With feature ext the crate asks the runtime why a call failed
// (wasm_bpf_last_error): a load has the runtime's errno, and a host
// error its explanation instead of the crate's guess.
var (
	rustCasesExt    = map[string]string{"load_verifier_reject": "-13"}
	rustMessagesExt = map[string]string{
		"load_verifier_reject":   `load: permission denied (EACCES): cannot load BPF object "guest": the kernel's verifier refused program "wbrej_prog" (tp/sched/sched_process_exec)`,
		"update_noexist":         `map update wbr_hash: file exists (EEXIST): wasm_bpf_map_operate: update in map "wbr_hash"`,
		"attach_unknown":         `attach nosuch: no such file or directory (ENOENT): cannot attach program "nosuch": the BPF object has no program of that name`,
		"attach_socket_no_iface": `attach wbr_sock: no such device (ENODEV): cannot attach program "wbr_sock" (socket) to "wbrnosuch0": no network interface "wbrnosuch0"`,
	}
)

func TestRustCases(t *testing.T) {
	testenv.RequireBPF(t)
	for _, features := range [][]string{nil, {"ext"}} {
		t.Run(fmt.Sprint("features", features), func(t *testing.T) {
			g := startCLI(t, nil, rustGuest(t, features...), "cases")
			g.waitLine("cases done", readyTimeout)
			newSpawner(t).run("wbr" + runID())
			g.sendLine("go")
			if code := g.waitExit(exitTimeout); code != 0 {
				g.fatalf("exit code %d, want 0", code)
			}
			got, msgs := map[string]string{}, map[string]string{}
			for _, l := range g.stdout.snapshot() {
				f := strings.SplitN(l.text, " ", 3)
				switch {
				case len(f) == 3 && f[0] == "case":
					if _, dup := got[f[1]]; dup {
						g.errorf("case %s printed twice", f[1])
					}
					got[f[1]] = f[2]
				case len(f) == 3 && f[0] == "msg":
					msgs[f[1]] = f[2]
				}
			}
			ext := len(features) > 0
			for name, want := range rustCases {
				if w, ok := rustCasesExt[name]; ok && ext {
					want = w
				}
				if got[name] != want {
					g.errorf("case %s = %q, want %q (%s)", name, got[name], want, msgs[name])
				}
			}
			for name := range got {
				if _, ok := rustCases[name]; !ok {
					g.errorf("case %s: the test does not know it", name)
				}
			}
			for name, want := range rustMessages {
				if w, ok := rustMessagesExt[name]; ok && ext {
					want = w
				}
				if !strings.Contains(msgs[name], want) {
					g.errorf("message of %s = %q, want it to contain %q", name, msgs[name], want)
				}
			}
			if !hasLine(g, "close 0") {
				g.fatalf(`missing the guest's last line "close 0"`)
			}
		})
	}
}

// TestRustSDKUnit runs the crate's own tests (cargo test, on this machine)
// and checks what it reads from objects against cilium/ebpf's reading of
// the same objects: each map's type, key and value sizes and max entries,
// and each global's place in the file.
func TestRustSDKUnit(t *testing.T) {
	rust := testenv.RustT(t)
	var paths []string
	for _, name := range []string{"events", "maps", "rustsdk", "reject", "leak", "pinned"} {
		paths = append(paths, tc.BPFObjectT(t, filepath.Join("testdata", name+".bpf.c")))
	}
	sdk := filepath.Join(t.TempDir(), "sdk")
	for _, f := range []string{"Cargo.toml", "src"} {
		if err := copyTree(filepath.Join(tc.RepoRoot(), "sdk", "rust", f), filepath.Join(sdk, f)); err != nil {
			t.Fatal(err)
		}
	}
	// Feature ext's code is built and run by TestRustEvents.
	cmd := rust.Command(sdk, filepath.Join(tc.Dir(), "sdk-unit-target"), "test", "--offline", "--", "--nocapture", "--test-threads=1")
	cmd.Env = append(cmd.Env, "WASM_BPF_TEST_OBJECTS="+strings.Join(paths, ":"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cargo test: %v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if _, info, ok := strings.Cut(l, "sdkinfo "); ok {
			got[info] = true
		}
	}
	for _, want := range ciliumView(t, paths) {
		if !got[want] {
			t.Errorf("the crate did not read %q", want)
		}
		delete(got, want)
	}
	for l := range got {
		t.Errorf("the crate read %q, which cilium/ebpf does not", l)
	}
}

// ciliumView is what cilium/ebpf reads from the objects, as the crate's
// test prints it: "map PATH NAME TYPE KEY VALUE MAX" and "global PATH NAME
// SECTION FILE_OFFSET SIZE".
func ciliumView(t *testing.T, paths []string) []string {
	var out []string
	for _, p := range paths {
		raw := mustRead(t, p)
		spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		for name, m := range spec.Maps {
			if strings.HasPrefix(name, ".") && name != ".rodata" && name != ".data" && name != ".bss" {
				continue // .kconfig, .rodata.str1.1: no map the guest reaches
			}
			out = append(out, fmt.Sprintf("map %s %s %d %d %d %d", p, name, m.Type, m.KeySize, m.ValueSize, m.MaxEntries))
		}
		o, err := gen.LoadObject(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range o.Globals {
			for _, v := range g.Vars {
				off := int64(-1)
				if g.Offset >= 0 {
					off = int64(g.Offset) + int64(v.Offset)
				}
				out = append(out, fmt.Sprintf("global %s %s %s %d %d", p, v.Type.TypeName(), g.Section, off, v.Size))
			}
		}
	}
	return out
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}
