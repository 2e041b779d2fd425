package e2e

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// The capability policy against the real kernel (docs/policy.md): for each
// profile, a guest whose object asks for something the profile lacks is
// refused before the kernel sees anything (its process holds no BPF
// program, map or link while it runs), the user reads the exact line
// below, and with the capability granted the same guest loads and its
// program works. The guest is testdata/policy.c with one case of
// testdata/policy.bpf.c.

// policyGuest builds policy.c embedding policy.bpf.c built with -DCASE_<kase>.
func policyGuest(t *testing.T, kase string) string {
	t.Helper()
	obj := tc.BPFObjectT(t, filepath.Join("testdata", "policy.bpf.c"), "CASE_"+kase)
	inc := tc.EmbedObjectT(t, obj, "policy_bpf")
	return tc.GuestWasmT(t, testenv.Guest{Src: filepath.Join("testdata", "policy.c"), Includes: []string{inc}})
}

// policyRun is one run of the policy guest through the CLI.
type policyRun struct{ *guest }

func startPolicy(t *testing.T, wasm string, flags []string, args ...string) *policyRun {
	t.Helper()
	g := startCLI(t, flags, wasm, args...)
	firstLine := regexp.MustCompile(`^(load refused|ready|attach -?\d+)$`)
	g.waitFor(`"load refused", "attach N" or "ready"`, readyTimeout, func(ls []line) int {
		for i, l := range ls {
			if firstLine.MatchString(l.text) {
				return i
			}
		}
		return -1
	})
	return &policyRun{g}
}

// first is the guest's first line.
func (r *policyRun) first() string {
	ls := r.stdout.snapshot()
	if len(ls) == 0 {
		return ""
	}
	return ls[0].text
}

// finish lets the guest end and returns its last "count N", or -1 if it
// printed none.
func (r *policyRun) finish() int {
	r.t.Helper()
	r.sendLine("end")
	if code := r.waitExit(exitTimeout); code != 0 {
		r.fatalf("exit code %d, want 0", code)
	}
	counts := r.counts()
	if len(counts) == 0 {
		return -1
	}
	return counts[len(counts)-1]
}

// counts are the guest's "count N" lines so far.
func (r *policyRun) counts() []int {
	var counts []int
	for _, l := range r.stdout.snapshot() {
		if n, ok := strings.CutPrefix(l.text, "count "); ok {
			v, _ := strconv.Atoi(n)
			counts = append(counts, v)
		}
	}
	return counts
}

// waitCount asks the guest for its count until it is at least n, for up to
// eventTimeout: for work the kernel does after the syscall that caused it
// has returned (an XDP program runs in the receiving veth's softirq).
func (r *policyRun) waitCount(n int) {
	r.t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for asked := len(r.counts()) + 1; ; asked++ {
		r.sendLine("count")
		r.waitFor("a count", eventTimeout, func([]line) int {
			if len(r.counts()) >= asked {
				return 0
			}
			return -1
		})
		got := r.counts()[asked-1]
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			r.fatalf("count %d after %v, want at least %d", got, eventTimeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hasLogLine reports whether the CLI's stderr holds exactly the line want;
// call it once the guest has ended, when all of stderr has been read.
func (r *policyRun) hasLogLine(want string) bool {
	return strings.Contains("\n"+r.stderr.String(), "\n"+want+"\n")
}

// userLines is what the user reads on stderr at the default level: under
// -v (as scripts/kernel-matrix.sh runs the CLI) the start's debug line
// "module ready" comes first, and is left out.
func (r *policyRun) userLines() []string {
	lines := strings.Split(strings.TrimSuffix(r.stderr.String(), "\n"), "\n")
	return slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "wasm-bpf: module ready ") })
}

// expectAttachRefused checks an attachment refused by the policy: -EPERM,
// and the one line the user reads.
func expectAttachRefused(t *testing.T, r *policyRun, want string) {
	t.Helper()
	if r.first() != "attach -1" {
		r.fatalf("want -EPERM from the attach")
	}
	r.finish()
	if !r.hasLogLine(want) {
		r.fatalf("stderr lacks the line\n%s", want)
	}
}

// expectRefused checks a load refused by the policy: the one line the user
// reads, and nothing of the guest's in the kernel while it runs (what it
// loads is held by its process's fds and by nothing else).
func expectRefused(t *testing.T, r *policyRun, want string) {
	t.Helper()
	if r.first() != "load refused" {
		r.fatalf("the load was not refused")
	}
	if held := r.held(); !held.empty() {
		r.fatalf("a refused object reached the kernel: the guest holds %s", held)
	}
	r.finish()
	if !r.hasLogLine(want) {
		r.fatalf("stderr lacks the line\n%s", want)
	}
	if n := len(r.userLines()); n != 1 {
		r.errorf("want one line on stderr, got %d", n)
	}
}

// expectLoaded checks the guest loaded and attached, and that the check of
// expectRefused sees its program (it would fail, were it refused).
func expectLoaded(t *testing.T, r *policyRun, prog string) {
	t.Helper()
	if r.first() != "ready" {
		r.fatalf("want the guest loaded and attached")
	}
	if held := r.held(); len(named(held.progs, prog)) != 1 {
		r.fatalf("the guest holds %s while it runs, want program %s", held, prog)
	}
}

const refusalPrefix = "wasm-bpf: policy.wasm: object 1: "

// TestPolicySignal: bpf_send_signal called by the program itself, only
// from a subprogram, and only from bpf_loop's callback, is refused under
// observe; with --allow signal the program kills the process it names.
func TestPolicySignal(t *testing.T) {
	testenv.RequireBPF(t)
	for _, c := range []struct{ kase, prog string }{
		{"SIGNAL", "wbpol_sig"},
		{"SUBPROG", "wbpol_sub"},
		{"LOOP", "wbpol_loop"},
	} {
		t.Run(c.prog, func(t *testing.T) {
			wasm := policyGuest(t, c.kase)
			victim := "wbpv" + runID()
			r := startPolicy(t, wasm, nil, c.prog, "-", victim)
			expectRefused(t, r, refusalPrefix+fmt.Sprintf(`program %q calls bpf_send_signal (helper 109), which profile "observe" does not grant; run with --allow signal`, c.prog))

			r = startPolicy(t, wasm, []string{"--allow", "signal"}, c.prog, "-", victim)
			expectLoaded(t, r, c.prog)
			sleep, err := exec.LookPath("sleep")
			if err != nil {
				t.Fatal(err)
			}
			// Its comm is the link's name.
			exe := filepath.Join(t.TempDir(), victim)
			if err := os.Symlink(sleep, exe); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exe, "10")
			start := time.Now()
			err = cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				r.fatalf("%s (sleep 10) ended with %v after %v, want killed by SIGKILL at exec", victim, err, time.Since(start))
			}
			if n := r.finish(); n < 1 {
				r.fatalf("count %d, want the kill counted", n)
			}
		})
	}
}

// TestPolicyNetwork: an XDP program needs network; granted, it counts the
// frames sent to a veth.
func TestPolicyNetwork(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := policyGuest(t, "XDP")
	id := runID()
	a, b := "wbp"+id+"a", "wbp"+id+"b"
	runIP(t, "link", "add", a, "type", "veth", "peer", "name", b)
	t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	runIP(t, "link", "set", a, "up")
	runIP(t, "link", "set", b, "up")

	r := startPolicy(t, wasm, nil, "wbpol_xdp", b)
	expectRefused(t, r, refusalPrefix+`program "wbpol_xdp" (section "xdp") is of kind xdp, which profile "observe" does not grant; run with --allow network`)

	r = startPolicy(t, wasm, []string{"--allow", "network"}, "wbpol_xdp", b)
	expectLoaded(t, r, "wbpol_xdp")
	const frames = 5
	sendFrames(t, a, frames)
	r.waitCount(frames)
	if n := r.finish(); n < frames {
		r.fatalf("count %d, want at least the %d frames sent", n, frames)
	}
}

func runIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// sendFrames writes n broadcast Ethernet frames out of iface.
func sendFrames(t *testing.T, iface string, n int) {
	t.Helper()
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		t.Fatal(err)
	}
	proto := binary.BigEndian.Uint16([]byte{0x88, 0xb5}) // local experimental ethertype
	htons := func(v uint16) uint16 { return binary.NativeEndian.Uint16([]byte{byte(v >> 8), byte(v)}) }
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(proto)))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	frame := make([]byte, 60)
	copy(frame, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5})
	addr := &syscall.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: htons(proto)}
	for range n {
		if err := syscall.Sendto(fd, frame, 0, addr); err != nil {
			t.Fatal(err)
		}
	}
}

// cgroup2Mount finds the cgroup v2 hierarchy from /proc/mounts.
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	f, err := os.Open("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 3 && fs[2] == "cgroup2" {
			return fs[1]
		}
	}
	testenv.Unavailable(t, "no cgroup2 mount in /proc/mounts")
	return ""
}

// mkCgroup makes a cgroup v2 directory, removed at the end of the test.
func mkCgroup(t *testing.T, path string) string {
	t.Helper()
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}

// TestPolicySecurity: a cgroup sysctl program needs security; granted, it
// denies the sysctls of the processes in its cgroup. Granting a cgroup
// subtree confines the attachment to it, whatever path names another
// cgroup (.., a symlink).
func TestPolicySecurity(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := policyGuest(t, "SYSCTL")
	root := mkCgroup(t, filepath.Join(cgroup2Mount(t), "wbpol-"+runID()))
	a := mkCgroup(t, filepath.Join(root, "a"))
	b := mkCgroup(t, filepath.Join(root, "b"))
	child := mkCgroup(t, filepath.Join(a, "child"))

	r := startPolicy(t, wasm, nil, "wbpol_sysctl", child)
	expectRefused(t, r, refusalPrefix+`program "wbpol_sysctl" (section "cgroup/sysctl") is of kind cgroup_sysctl, which profile "observe" does not grant; run with --allow security`)

	grant := []string{"--allow", "security", "--allow", "cgroup:" + a}
	link := filepath.Join(t.TempDir(), "to-b")
	if err := os.Symlink(b, link); err != nil {
		t.Fatal(err)
	}
	for _, outside := range []string{b, a + "/../b", link} {
		r := startPolicy(t, wasm, grant, "wbpol_sysctl", outside)
		expectAttachRefused(t, r, refusalPrefix+fmt.Sprintf(`program "wbpol_sysctl" attaches to cgroup %s, but policy "observe,security,cgroup:%s" grants only cgroups under %s; run with --allow cgroup:%s`, b, a, a, b))
	}

	r = startPolicy(t, wasm, grant, "wbpol_sysctl", child)
	expectLoaded(t, r, "wbpol_sysctl")
	script := fmt.Sprintf(`echo $$ > %s/cgroup.procs && exec cat /proc/sys/kernel/ostype`, child)
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Operation not permitted") {
		r.fatalf("a sysctl read in the cgroup: %v %s; want it denied", err, out)
	}
	if out, err := exec.Command("cat", "/proc/sys/kernel/ostype").CombinedOutput(); err != nil {
		r.fatalf("a sysctl read outside the cgroup: %v %s", err, out)
	}
	if n := r.finish(); n < 1 {
		r.fatalf("count %d, want the denied read counted", n)
	}
}

// TestPolicyWriteUser: bpf_probe_write_user needs write-user. Kernel
// lockdown (integrity and above) forbids it whatever the policy says: then
// the granted load is the kernel's to refuse, and the policy says nothing.
func TestPolicyWriteUser(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := policyGuest(t, "WRITEUSER")
	victim := "wbpw" + runID()
	r := startPolicy(t, wasm, nil, "wbpol_wuser", "-", victim)
	expectRefused(t, r, refusalPrefix+`program "wbpol_wuser" calls bpf_probe_write_user (helper 36), which profile "observe" does not grant; run with --allow write-user`)

	r = startPolicy(t, wasm, []string{"--allow", "write-user"}, "wbpol_wuser", "-", victim)
	if r.first() == "load refused" {
		lockdown, _ := os.ReadFile("/sys/kernel/security/lockdown")
		if !regexp.MustCompile(`\[(integrity|confidentiality)\]`).Match(lockdown) {
			r.fatalf("the kernel refused bpf_probe_write_user without lockdown (%q)", lockdown)
		}
		r.finish()
		if strings.Contains(r.stderr.String(), "does not grant") {
			r.fatalf("the policy refused what it was told to grant")
		}
		t.Logf("lockdown %s: the kernel refuses bpf_probe_write_user; the policy let it through", strings.TrimSpace(string(lockdown)))
		return
	}
	expectLoaded(t, r, "wbpol_wuser")
	echo, _ := exec.LookPath("echo")
	p := filepath.Join(t.TempDir(), victim)
	if err := os.Symlink(echo, p); err != nil {
		t.Fatal(err)
	}
	// The program knows the victim by its comm, the base name of the path
	// it was executed by; argv[0] stays "echo", as a multi-call binary
	// (busybox, the kernel matrix's VMs' echo) picks its applet by it.
	cmd := exec.Command(p, "hello")
	cmd.Args[0] = "echo"
	out, _ := cmd.Output()
	if !strings.HasPrefix(string(out), "HACKD") {
		r.fatalf("echo hello printed %q, want it overwritten", out)
	}
	r.finish()
}

// TestPolicyKfunc: kfuncs need a kfunc: rule (or all); granted, the
// program runs.
func TestPolicyKfunc(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := policyGuest(t, "KFUNC")
	r := startPolicy(t, wasm, nil, "wbpol_kfunc")
	expectRefused(t, r, refusalPrefix+`program "wbpol_kfunc" calls kfunc bpf_task_acquire, which profile "observe" does not grant; run with --allow kfunc:bpf_task_acquire`)

	r = startPolicy(t, wasm, []string{"--allow", "kfunc:bpf_task_acquire"}, "wbpol_kfunc")
	expectRefused(t, r, refusalPrefix+`program "wbpol_kfunc" calls kfunc bpf_task_release, which policy "observe,kfunc:bpf_task_acquire" does not grant; run with --allow kfunc:bpf_task_release`)

	kfuncs := kernelHasFunc(t, "bpf_task_acquire")
	for _, grant := range [][]string{{"--allow", "kfunc:bpf_task_*"}, {"--allow", "all"}} {
		r = startPolicy(t, wasm, grant, "wbpol_kfunc")
		if !kfuncs {
			expectNoKfunc(t, r, "bpf_task_acquire")
			continue
		}
		expectLoaded(t, r, "wbpol_kfunc")
		newSpawner(t).run("wbpk" + runID())
		if n := r.finish(); n < 1 {
			r.fatalf("count %d, want the program to have run", n)
		}
	}
}

// TestPolicyKfuncFlavor: a kfunc declared under a flavoured name (NAME___X)
// is the kernel's NAME, and is judged as NAME. (It was judged by its
// declared name: kfunc:*___wb let it through.)
func TestPolicyKfuncFlavor(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := policyGuest(t, "KFUNCFLAVOR")
	r := startPolicy(t, wasm, []string{"--allow", "kfunc:*___wb"}, "wbpol_kflav")
	expectRefused(t, r, refusalPrefix+`program "wbpol_kflav" calls kfunc bpf_task_acquire, which policy "observe,kfunc:*___wb" does not grant; run with --allow kfunc:bpf_task_acquire`)
	r = startPolicy(t, wasm, []string{"--allow", "kfunc:bpf_task_*"}, "wbpol_kflav")
	if !kernelHasFunc(t, "bpf_task_acquire") {
		expectNoKfunc(t, r, "bpf_task_acquire___wb")
		return
	}
	expectLoaded(t, r, "wbpol_kflav")
	newSpawner(t).run("wbpf" + runID())
	if n := r.finish(); n < 1 {
		r.fatalf("count %d, want the program to have run", n)
	}
}

// kernelHasFunc reports whether the running kernel's BTF has the function
// name, as a kfunc needs (bpf_task_acquire came in 6.2).
func kernelHasFunc(t *testing.T, name string) bool {
	t.Helper()
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatalf("kernel BTF: %v", err)
	}
	var fn *btf.Func
	switch err := spec.TypeByName(name, &fn); {
	case errors.Is(err, btf.ErrNotFound):
		t.Logf("the kernel's BTF has no function %s", name)
		return false
	case err != nil:
		t.Fatalf("kernel BTF: function %s: %v", name, err)
	}
	return true
}

// expectNoKfunc checks a load that the policy granted, of an object that
// calls the kfunc declared as decl, on a kernel without that kfunc: libbpf
// refuses it before the verifier, and the user reads that the kernel lacks
// it, not that the policy refused it.
func expectNoKfunc(t *testing.T, r *policyRun, decl string) {
	t.Helper()
	if r.first() != "load refused" {
		r.fatalf("want the load refused: the kernel has no kfunc %s", decl)
	}
	if held := r.held(); !held.empty() {
		r.fatalf("a refused object reached the kernel: the guest holds %s", held)
	}
	r.finish()
	if want := fmt.Sprintf("extern (func ksym) '%s': not found in kernel or module BTFs", decl); !strings.Contains(r.stderr.String(), want) {
		r.fatalf("stderr lacks %q", want)
	}
	if strings.Contains(r.stderr.String(), "does not grant") {
		r.fatalf("the policy refused what it was told to grant")
	}
}

// TestPolicyUnknownHelper: a helper id this build does not know is refused
// by every profile but all; under all the kernel decides (and refuses it).
func TestPolicyUnknownHelper(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := policyGuest(t, "UNKNOWN")
	for _, flags := range [][]string{nil, {"--allow", "network", "--allow", "security", "--allow", "signal", "--allow", "write-user"}} {
		r := startPolicy(t, wasm, flags, "wbpol_unk")
		pol := `profile "observe"`
		if flags != nil {
			pol = `policy "observe,network,security,signal,write-user"`
		}
		expectRefused(t, r, refusalPrefix+`program "wbpol_unk" calls helper 999, which `+pol+` does not grant; run with --allow all`)
	}
	r := startPolicy(t, wasm, []string{"--allow", "all"}, "wbpol_unk")
	r.finish()
	if r.first() != "load refused" || strings.Contains(r.stderr.String(), "grant") {
		r.fatalf("want the kernel, not the policy, to refuse helper 999")
	}
}

// TestPolicyAttachPattern: with attach rules, a program attaches only to
// the attach points they match.
func TestPolicyAttachPattern(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := policyGuest(t, "PLAIN")
	r := startPolicy(t, wasm, []string{"--allow", "attach:tracepoint/syscalls/*"}, "wbpol_plain")
	expectAttachRefused(t, r, refusalPrefix+`program "wbpol_plain" attaches to tracepoint/sched/sched_process_exec, but policy "observe,attach:tracepoint/syscalls/*" grants only attach points tracepoint/syscalls/*; run with --allow attach:tracepoint/sched/sched_process_exec`)

	r = startPolicy(t, wasm, []string{"--allow", "attach:tracepoint/sched/*"}, "wbpol_plain")
	expectLoaded(t, r, "wbpol_plain")
	newSpawner(t).run("wbpa" + runID())
	if n := r.finish(); n < 1 {
		r.fatalf("count %d, want the program to have run", n)
	}

	// A section whose path climbs out of its category attaches where the
	// path leads, and is judged there. (It was judged by its text, which
	// tracepoint/sched/* matches, and attached to a syscall tracepoint.)
	r = startPolicy(t, policyGuest(t, "TPESCAPE"), []string{"--allow", "attach:tracepoint/sched/*"}, "wbpol_tpesc")
	expectAttachRefused(t, r, refusalPrefix+`program "wbpol_tpesc" attaches to tracepoint/syscalls/sys_enter_getppid, but policy "observe,attach:tracepoint/sched/*" grants only attach points tracepoint/sched/*; run with --allow attach:tracepoint/syscalls/sys_enter_getppid`)
}

// TestPolicyInterface: with iface rules, a socket filter attaches only to
// the interfaces they match.
func TestPolicyInterface(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := policyGuest(t, "SOCKET")
	r := startPolicy(t, wasm, []string{"--allow", "iface:wbnone*"}, "wbpol_sock", "lo")
	expectAttachRefused(t, r, refusalPrefix+`program "wbpol_sock" attaches to interface "lo", but policy "observe,iface:wbnone*" grants only interfaces wbnone*; run with --allow iface:lo`)
	r = startPolicy(t, wasm, []string{"--allow", "iface:lo"}, "wbpol_sock", "lo")
	expectLoaded(t, r, "wbpol_sock")
	r.finish()
}

// TestPolicyMapMemory: the kernel memory of a guest's maps is bounded
// before load: a 2^28-entry array (2 GiB) is refused under the default
// 256 MiB; a 1 MiB map loads by default and is refused under 512 KiB.
func TestPolicyMapMemory(t *testing.T) {
	testenv.RequireBPF(t)
	r := startPolicy(t, policyGuest(t, "BIGMAP"), nil, "wbpol_plain")
	expectRefused(t, r, refusalPrefix+`its maps need 2.0 GiB of kernel memory (the largest: map "wbpol_big", array of 268435456 entries, 2.0 GiB), over the limit of 256 MiB; run with --max-map-memory 3GiB`)

	wasm := policyGuest(t, "MIDMAP")
	r = startPolicy(t, wasm, []string{"--max-map-memory", "512KiB"}, "wbpol_plain")
	expectRefused(t, r, refusalPrefix+`its maps need 1.0 MiB of kernel memory (the largest: map "wbpol_mid", array of 131072 entries, 1.0 MiB), over the limit of 512 KiB; run with --max-map-memory 2MiB`)
	r = startPolicy(t, wasm, nil, "wbpol_plain")
	expectLoaded(t, r, "wbpol_plain")
	r.finish()

	// The inner map of a map of maps is created at load too, and counts.
	// (It did not: an outer map of one entry brought in an inner map of
	// any size.)
	r = startPolicy(t, policyGuest(t, "INNERMAP"), []string{"--max-map-memory", "512KiB"}, "wbpol_plain")
	expectRefused(t, r, refusalPrefix+`its maps need 1.0 MiB of kernel memory (the largest: map "wbpol_outer", array_of_maps of 1 entries whose inner map is array of 131072 entries, 1.0 MiB), over the limit of 512 KiB; run with --max-map-memory 2MiB`)
}

// TestPolicyRingbufRounded: a ring buffer whose size libbpf rounds up
// loads, and counts at the size the kernel allocates. (The analysis kept
// the declared size, and the object was refused as one that libbpf reads
// differently.)
func TestPolicyRingbufRounded(t *testing.T) {
	testenv.RequireBPF(t)
	r := startPolicy(t, policyGuest(t, "ODDRING"), nil, "wbpol_plain")
	expectLoaded(t, r, "wbpol_plain")
	r.finish()
}

// TestPolicyInnerMapType: the inner map of a map of maps needs what a map
// of its type needs. (It was not checked: a hash of sockmaps loaded under
// observe.)
func TestPolicyInnerMapType(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := policyGuest(t, "INNERSOCK")
	r := startPolicy(t, wasm, nil, "wbpol_plain")
	expectRefused(t, r, refusalPrefix+`map "wbpol_outs" holds maps of type sockmap, which profile "observe" does not grant; run with --allow network`)
	r = startPolicy(t, wasm, []string{"--allow", "network"}, "wbpol_plain")
	expectLoaded(t, r, "wbpol_plain")
	r.finish()
}

// TestPolicyFile: --policy FILE, with a program limit.
func TestPolicyFile(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := policyGuest(t, "PLAIN")
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte("allow: [signal]\nmaxInstructions: 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startPolicy(t, wasm, []string{"--policy", file}, "wbpol_plain")
	if r.first() != "load refused" {
		r.fatalf("want the load refused")
	}
	r.finish()
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(refusalPrefix+`program "wbpol_plain" has `) + `\d+` +
		regexp.QuoteMeta(` instructions, but policy "observe,signal" allows at most 5 per program; raise maxInstructions in the policy file`) + `$`)
	if lines := r.userLines(); len(lines) != 1 || !re.MatchString(lines[0]) {
		r.fatalf("stderr is not one line matching %s", re)
	}
}
