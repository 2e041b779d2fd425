package policy

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// Every helper cilium/ebpf knows is classified on purpose.
func TestEveryHelperClassified(t *testing.T) {
	n := 0
	for id := asm.BuiltinFunc(0); !strings.HasPrefix(id.String(), "BuiltinFunc("); id++ {
		if _, ok := helperProfiles[id]; !ok {
			t.Errorf("%s (helper %d) is not classified in helperProfiles", id, uint32(id))
		}
		n++
	}
	if n != len(helperProfiles) {
		t.Errorf("helperProfiles has %d entries, cilium/ebpf names %d helpers", len(helperProfiles), n)
	}
}

// The helpers' names are the kernel's, as libbpf's bpf_helper_defs.h has
// them.
func TestHelperNames(t *testing.T) {
	f, err := os.Open("/usr/include/bpf/bpf_helper_defs.h")
	if err != nil {
		testenv.Unavailable(t, "libbpf's bpf_helper_defs.h: %v", err)
	}
	defer f.Close()
	re := regexp.MustCompile(`\(\* const (bpf_\w+)\)\(.*= \(void \*\) (\d+);`)
	sc := bufio.NewScanner(f)
	seen := 0
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		id, _ := strconv.Atoi(m[2])
		if _, ok := helperProfiles[asm.BuiltinFunc(id)]; !ok {
			continue // newer than cilium/ebpf
		}
		seen++
		if got := helperName(asm.BuiltinFunc(id)); got != m[1] {
			t.Errorf("helper %d: named %s, the kernel calls it %s", id, got, m[1])
		}
	}
	if seen < 200 {
		t.Errorf("only %d helpers compared", seen)
	}
}

// The type names are the kernel's (enum bpf_prog_type and bpf_map_type of
// the uapi header; it may be older than the tables).
func TestTypeNames(t *testing.T) {
	data, err := os.ReadFile("/usr/include/linux/bpf.h")
	if err != nil {
		testenv.Unavailable(t, "linux/bpf.h: %v", err)
	}
	for _, c := range []struct {
		enum, prefix string
		names        []string
	}{
		{"enum bpf_prog_type {", "BPF_PROG_TYPE_", progTypeNames},
		{"enum bpf_map_type {", "BPF_MAP_TYPE_", mapTypeNames},
	} {
		body := string(data)
		body = body[strings.Index(body, c.enum):]
		body = body[:strings.Index(body, "}")]
		i := 0
		for _, m := range regexp.MustCompile(`(?m)^\s*`+c.prefix+`(\w+),`).FindAllStringSubmatch(body, -1) {
			if strings.HasSuffix(m[1], "_DEPRECATED") {
				m[1] = strings.TrimSuffix(m[1], "_DEPRECATED")
			}
			if i >= len(c.names) || strings.ToLower(m[1]) != c.names[i] {
				t.Errorf("%s%s is value %d; the table says %q", c.prefix, m[1], i, c.names[min(i, len(c.names)-1)])
			}
			i++
		}
		if i < 20 {
			t.Errorf("%s: only %d values read", c.enum, i)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"tracepoint/sched/*", "tracepoint/sched/sched_process_exec", true},
		{"tracepoint/sched/*", "tracepoint/syscalls/sys_enter_kill", false},
		{"uprobe/*", "uprobe//usr/bin/bash:readline", true},
		{"kprobe/do_unlinkat", "kprobe/do_unlinkat", true},
		{"kprobe/do_unlinkat", "kprobe/do_unlinkat2", false},
		{"bpf_task_*", "bpf_task_acquire", true},
		{"veth?", "veth1", true},
		{"veth?", "veth12", false},
		{"*", "", true},
		{"", "x", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 60), false}, // no exponential backtracking
	} {
		if got := match(c.pattern, c.s); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestNewAndParse(t *testing.T) {
	for _, bad := range []string{"observer", "helper:bpf_no_such", "helper:", "cgroup:relative/path", "magic:x"} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"allow: [network]\nmaxProgram: 3\n", "allow: network\n", `{"allow": ["nope"]}`, "maxPrograms: -1\n"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	p, err := Parse([]byte("# comment\nallow:\n  - network\n  - helper:send_signal\n  - helper:300\nmaxPrograms: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.grantsHelper(int32(asm.FnSendSignal)) || !p.grantsHelper(300) || p.grantsHelper(int32(asm.FnProbeWriteUser)) {
		t.Errorf("helpers granted wrongly by %v", p)
	}
	if p.maxPrograms != 2 || p.String() != `policy "observe,network,helper:send_signal,helper:300"` {
		t.Errorf("parsed %v, max %d", p, p.maxPrograms)
	}
	j, err := Parse([]byte(`{"allow": ["security"], "maxInstructions": 10}`))
	if err != nil || !j.grantsKind("lsm") || j.maxInstructions != 10 {
		t.Errorf("JSON: %v %v", j, err)
	}
	if Default().String() != `profile "observe"` {
		t.Errorf("default: %v", Default())
	}
}

func prog(name, kind string, helpers ...asm.BuiltinFunc) Program {
	p := Program{Name: name, Section: "s", Kind: kind}
	for _, h := range helpers {
		p.Helpers = append(p.Helpers, helper(int32(h)))
	}
	return p
}

func TestCheck(t *testing.T) {
	sig := &Object{Programs: []Program{prog("p", "tracepoint", asm.FnSendSignal)}, Helpers: []Helper{helper(int32(asm.FnSendSignal))}}
	xdp := &Object{Programs: []Program{prog("x", "xdp", asm.FnMapLookupElem)}, Helpers: []Helper{helper(1)}}
	unk := &Object{Programs: []Program{prog("u", "tracepoint", 999)}, Helpers: []Helper{helper(999)}}
	// A helper no program reaches by the analysis' linking still counts.
	hidden := &Object{Programs: []Program{prog("h", "tracepoint")}, Helpers: []Helper{helper(int32(asm.FnProbeWriteUser))}}
	kf := &Object{Programs: []Program{{Name: "k", Kind: "tp_btf", Kfuncs: []string{"bpf_task_acquire"}}}, Kfuncs: []string{"bpf_task_acquire", "bpf_rcu_read_lock"}}
	sockmap := &Object{Maps: []Map{{Name: "m", Type: ebpf.SockMap}}}
	many := &Object{Programs: []Program{prog("a", "tracepoint"), prog("b", "tracepoint"), prog("c", "tracepoint")}}
	big := &Object{Programs: []Program{{Name: "big", Kind: "tracepoint", Instructions: 1000}}}

	for _, c := range []struct {
		obj    *Object
		grants []string
		want   string // the refusal, "" for none
	}{
		{sig, nil, `program "p" calls bpf_send_signal (helper 109), which profile "observe" does not grant; run with --allow signal`},
		{sig, []string{"signal"}, ""},
		{sig, []string{"helper:bpf_send_signal"}, ""},
		{sig, []string{"network", "security", "write-user"}, `program "p" calls bpf_send_signal (helper 109), which policy "observe,network,security,write-user" does not grant; run with --allow signal`},
		{sig, []string{"all"}, ""},
		{xdp, nil, `program "x" (section "s") is of kind xdp, which profile "observe" does not grant; run with --allow network`},
		{xdp, []string{"prog:xdp"}, ""},
		{xdp, []string{"network"}, ""},
		{unk, []string{"network", "security", "signal", "write-user"}, `program "u" calls helper 999, which policy "observe,network,security,signal,write-user" does not grant; run with --allow all`},
		{unk, []string{"helper:999"}, ""},
		{unk, []string{"all"}, ""},
		{hidden, nil, `code outside its programs calls bpf_probe_write_user (helper 36), which profile "observe" does not grant; run with --allow write-user`},
		{hidden, []string{"write-user"}, ""},
		{kf, nil, `program "k" calls kfunc bpf_task_acquire, which profile "observe" does not grant; run with --allow kfunc:bpf_task_acquire`},
		{kf, []string{"kfunc:bpf_task_acquire"}, `declares kfunc bpf_rcu_read_lock, which policy "observe,kfunc:bpf_task_acquire" does not grant; run with --allow kfunc:bpf_rcu_read_lock`},
		{kf, []string{"kfunc:bpf_*"}, ""},
		{sockmap, nil, `map "m" is of type sockmap, which profile "observe" does not grant; run with --allow network`},
		{sockmap, []string{"map:sockmap"}, ""},
	} {
		p, err := New(c.grants...)
		if err != nil {
			t.Fatal(err)
		}
		err = p.Check(c.obj)
		got := ""
		if err != nil {
			got = err.Error()
			if !errors.Is(err, syscall.EPERM) {
				t.Errorf("%v: refusal does not wrap EPERM", c.grants)
			}
		}
		if got != c.want {
			t.Errorf("grants %v:\n got %s\nwant %s", c.grants, got, c.want)
		}
	}

	limited, err := File{MaxPrograms: 2, MaxInstructions: 500}.Policy()
	if err != nil {
		t.Fatal(err)
	}
	if err := limited.Check(many); err == nil || err.Error() != `has 3 programs, but profile "observe" allows at most 2 programs per object; raise maxPrograms in the policy file` {
		t.Errorf("program limit: %v", err)
	}
	if err := limited.Check(big); err == nil || err.Error() != `program "big" has 1000 instructions, but profile "observe" allows at most 500 per program; raise maxInstructions in the policy file` {
		t.Errorf("instruction limit: %v", err)
	}
}

func TestCheckAttach(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b, a + "x", filepath.Join(a, "child")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link-to-b")
	if err := os.Symlink(b, link); err != nil {
		t.Fatal(err)
	}
	inA := filepath.Join(dir, "link-into-a")
	if err := os.Symlink(filepath.Join(a, "child"), inA); err != nil {
		t.Fatal(err)
	}
	cg := &Program{Name: "c", Kind: "cgroup_skb"}
	p, err := New("network", "cgroup:"+a)
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]string{
		a:                           a,
		filepath.Join(a, "child"):   filepath.Join(a, "child"),
		inA:                         filepath.Join(a, "child"),
		b:                           "",
		a + "/../b":                 "",
		link:                        "",
		a + "x":                     "", // not a prefix match
		filepath.Join(a, "missing"): "",
	} {
		got, err := p.CheckAttach(cg, target)
		if got != want {
			t.Errorf("cgroup %s: %q, %v; want %q", target, got, err, want)
		}
		var r *Refusal
		if want == "" && !strings.HasSuffix(target, "missing") && !errors.As(err, &r) {
			t.Errorf("cgroup %s: %v, want a refusal", target, err)
		}
	}
	if got, err := Default().CheckAttach(cg, b); got != b || err != nil {
		t.Errorf("no cgroup rule: %q %v", got, err)
	}

	x := &Program{Name: "x", Kind: "xdp"}
	ip, _ := New("network", "iface:veth*")
	if _, err := ip.CheckAttach(x, "veth0"); err != nil {
		t.Error(err)
	}
	if _, err := ip.CheckAttach(x, "eth0"); err == nil {
		t.Error("iface eth0 granted")
	}

	// A uprobe's binary is matched once its symlinks are resolved.
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	alias := filepath.Join(dir, "alias")
	if err := os.Symlink(bin, alias); err != nil {
		t.Fatal(err)
	}
	up := &Program{Name: "u", Kind: "kprobe", Section: "uprobe/" + alias + ":f", Target: "uprobe/" + alias + ":f"}
	okP, _ := New("attach:uprobe/" + bin + ":*")
	if _, err := okP.CheckAttach(up, ""); err != nil {
		t.Errorf("uprobe through a symlink to a granted binary: %v", err)
	}
	noP, _ := New("attach:uprobe/" + alias + ":*")
	if _, err := noP.CheckAttach(up, ""); err == nil {
		t.Error("a pattern on the symlink's name granted the binary it points to")
	}
	// A ".." after a symlink climbs from where the symlink leads, as the
	// kernel walks the path: deep/link/../bin is deep/bin, not bin.
	deep := filepath.Join(dir, "deep", "er")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "deep", "bin"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(deep, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	section := "uprobe/" + dir + "/link/../bin:f"
	climb := &Program{Name: "u", Kind: "kprobe", Section: section, Target: target(section, "kprobe")}
	if _, err := okP.CheckAttach(climb, ""); err == nil {
		t.Errorf("%s: granted as %s, but the kernel opens %s", section, bin, filepath.Join(dir, "deep", "bin"))
	}
	deepP, _ := New("attach:uprobe/" + filepath.Join(dir, "deep", "bin") + ":*")
	if _, err := deepP.CheckAttach(climb, ""); err != nil {
		t.Errorf("%s: %v", section, err)
	}
	tp := &Program{Name: "t", Kind: "tracepoint", Target: "tracepoint/sched/sched_switch"}
	if _, err := Default().CheckAttach(tp, ""); err != nil {
		t.Errorf("no attach rule: %v", err)
	}
}

func TestTarget(t *testing.T) {
	for _, c := range []struct{ section, kind, want string }{
		{"tp/sched/sched_process_exec", "tracepoint", "tracepoint/sched/sched_process_exec"},
		{"tracepoint/sched/sched_process_exec", "tracepoint", "tracepoint/sched/sched_process_exec"},
		{"tp/sched/../syscalls/sys_enter_getppid", "tracepoint", "tracepoint/syscalls/sys_enter_getppid"},
		{"tp//sched/./sched_switch", "tracepoint", "tracepoint/sched/sched_switch"},
		{"raw_tp/sched_switch", "raw_tracepoint", "raw_tracepoint/sched_switch"},
		{"fentry.s/do_unlinkat", "fentry", "fentry/do_unlinkat"},
		{"uprobe//usr/bin/../bin/bash:readline", "kprobe", "uprobe//usr/bin/bash:readline"},
		{"kprobe/do_unlinkat", "kprobe", "kprobe/do_unlinkat"},
		{"xdp", "xdp", ""},
		{"sockops", "sock_ops", ""},
		{"perf_event", "perf_event", "perf_event"},
	} {
		if got := target(c.section, c.kind); got != c.want {
			t.Errorf("target(%q) = %q, want %q", c.section, got, c.want)
		}
	}
}

func TestNeeds(t *testing.T) {
	obj := &Object{
		Programs: []Program{prog("x", "xdp"), prog("s", "tracepoint", asm.FnSendSignal)},
		Helpers:  []Helper{helper(int32(asm.FnSendSignal))},
		Kfuncs:   []string{"bpf_rcu_read_lock"},
	}
	needs := Needs(obj)
	if want := []string{"network", "signal", "kfunc:bpf_rcu_read_lock"}; !slices.Equal(needs, want) {
		t.Errorf("needs %v, want %v", needs, want)
	}
	for _, c := range []struct {
		needs []string
		want  string
	}{{nil, "observe"}, {[]string{"network"}, "network"}, {[]string{"network", "signal"}, "all"}, {[]string{"kfunc:x"}, "all"}} {
		if got := Covering(c.needs); got != c.want {
			t.Errorf("Covering(%v) = %s, want %s", c.needs, got, c.want)
		}
	}
}

func TestGrants(t *testing.T) {
	for _, c := range []struct {
		grants []string
		cap    string
		want   bool
	}{
		{nil, "observe", true},
		{nil, "network", false},
		{[]string{"network"}, "network", true},
		{[]string{"network"}, "signal", false},
		{[]string{"all"}, "signal", true},
		{[]string{"all"}, "kfunc:bpf_task_acquire", true},
		{nil, "helper:bpf_send_signal", false},
		{[]string{"signal"}, "helper:bpf_send_signal", true},
		{[]string{"signal"}, "helper:109", true},
		{[]string{"helper:bpf_send_signal"}, "helper:bpf_send_signal", true},
		{nil, "helper:bpf_no_such_helper", false},
		{nil, "kfunc:bpf_task_acquire", false},
		{[]string{"kfunc:bpf_task_*"}, "kfunc:bpf_task_acquire", true},
		{nil, "prog:xdp", false},
		{[]string{"network"}, "prog:xdp", true},
		{[]string{"prog:xdp"}, "prog:xdp", true},
		{nil, "map:sockmap", false},
		{[]string{"map:sockmap"}, "map:sockmap", true},
		{nil, "map:no_such_map", false},
		{[]string{"network"}, "attach:tracepoint/*", false}, // narrows targets; never a need
		{nil, "nonsense", false},
	} {
		p, err := New(c.grants...)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Grants(c.cap); got != c.want {
			t.Errorf("New(%q).Grants(%q) = %v, want %v", c.grants, c.cap, got, c.want)
		}
	}
	// What Needs lists, the policy it suggests grants.
	obj := &Object{
		Programs: []Program{prog("x", "xdp"), prog("s", "tracepoint", asm.FnSendSignal)},
		Kfuncs:   []string{"bpf_rcu_read_lock"},
	}
	needs := Needs(obj)
	p, err := New(needs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range needs {
		if !p.Grants(n) || Default().Grants(n) {
			t.Errorf("need %q: granted by New(needs) %v, by the default %v", n, p.Grants(n), Default().Grants(n))
		}
	}
}

func TestBytes(t *testing.T) {
	for b, want := range map[Bytes]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 256 << 20: "256 MiB", 2<<30 + 5000: "2.0 GiB"} {
		if got := b.String(); got != want {
			t.Errorf("%d: %s, want %s", uint64(b), got, want)
		}
	}
}

// The commented example in docs/ is a valid policy.
func TestExampleFile(t *testing.T) {
	data, err := os.ReadFile("../docs/policy.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !p.grantsKind("xdp") || p.maxPrograms != 16 || len(p.attach) != 2 {
		t.Errorf("parsed %v", p)
	}
}

// Code that names a kernel object by number instead of by a relocated
// symbol is refused by every policy: a map fd (or a map value by fd), a
// kernel variable or function by BTF id, an entry of the loader's fd
// array. The loads and calls compilers emit pass.
func TestHostRefs(t *testing.T) {
	obj := exampleObjects(t)["bootstrap"]
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	// The first 16-byte load and the first helper call of the code.
	load, call := -1, -1
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_EXECINSTR == 0 || s.Type != elf.SHT_PROGBITS {
			continue
		}
		for off := s.Offset; off+8 <= s.Offset+s.Size; off += 8 {
			switch {
			case load < 0 && obj[off] == 0x18 && obj[off+1]>>4 == 0:
				load = int(off)
			case call < 0 && obj[off] == 0x85 && obj[off+1]>>4 == 0:
				call = int(off)
			}
		}
	}
	if load < 0 || call < 0 {
		t.Fatalf("bootstrap has no 16-byte load (%d) or helper call (%d)", load, call)
	}
	for _, c := range []struct {
		name    string
		at      int
		src     byte
		refused string
	}{
		{"load", load, 0, ""},
		{"load pseudo func", load, pseudoFunc, ""},
		{"load map fd", load, pseudoMapFD, "loads map fd"},
		{"load map value", load, pseudoMapValue, "loads a value of map fd"},
		{"load btf id", load, pseudoBTFID, "loads the kernel variable of BTF id"},
		{"load map idx", load, pseudoMapIdx, "loads entry"},
		{"load map idx value", load, pseudoMapIdxVal, "loads entry"},
		{"load unknown kind", load, 9, "loads a 64-bit immediate of kind 9"},
		{"call kfunc", call, pseudoKfuncCall, "calls the kernel function of BTF id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mutant := slices.Clone(obj)
			mutant[c.at+1] = mutant[c.at+1]&0x0f | c.src<<4
			_, err := Analyze(mutant)
			var h *HostRefError
			switch {
			case c.refused == "" && errors.As(err, &h):
				t.Fatalf("refused: %v", err)
			case c.refused != "" && !errors.As(err, &h):
				t.Fatalf("Analyze: %v, want a HostRefError", err)
			case c.refused != "" && !strings.Contains(err.Error(), c.refused):
				t.Fatalf("Analyze: %v, want it to say %q", err, c.refused)
			}
		})
	}
}

// A kfunc is judged by the kernel function libbpf resolves it to.
func TestKfuncName(t *testing.T) {
	for name, want := range map[string]string{
		"bpf_task_acquire":          "bpf_task_acquire",
		"bpf_task_acquire___v2":     "bpf_task_acquire",
		"bpf_task_acquire___v2___x": "bpf_task_acquire___v2",
		"bpf_task____x":             "bpf_task____x", // four underscores: no flavour
		"bpf_x___":                  "bpf_x___",
		"___x":                      "___x",
		"a___b":                     "a",
	} {
		if got := kfuncName(name); got != want {
			t.Errorf("kfuncName(%q) = %q, want %q", name, got, want)
		}
	}
}

// A ring buffer's size is what libbpf makes of it, which the kernel then
// allocates. (The analysis kept the declared size: the host refused such
// an object as one libbpf reads differently, and its estimate was low.)
func TestRingbufSize(t *testing.T) {
	for sz, want := range map[uint32]uint32{
		0:          0,
		1:          4096,
		4096:       4096,
		8192:       8192,
		12288:      16384,
		100000:     131072,
		1 << 30:    1 << 30,
		1<<30 + 1:  1 << 31,
		0xffffffff: 0xffffffff, // no power-of-2 multiple of a page above it
	} {
		if got := ringbufSize(sz); got != want {
			t.Errorf("ringbufSize(%d) = %d, want %d", sz, got, want)
		}
	}
}
