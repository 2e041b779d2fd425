package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// A failure that stops a guest's load or attach prints, at the default log
// level, one line that names its cause and its fix; the guest reads the
// same line from wasm_bpf_ext.wasm_bpf_last_error. Each case runs the CLI
// in the failing condition: as user 65534, without some capabilities, in
// a mount namespace without tracefs or without the kernel's BTF, with an
// object built without -g, or with a program this kernel cannot take.

// diagGuest builds testdata/diag.c around diag.bpf.c compiled with the
// define; btf false compiles it without -g.
func diagGuest(t *testing.T, define string, btf bool) string {
	t.Helper()
	var obj string
	if btf {
		obj = tc.BPFObjectT(t, "testdata/diag.bpf.c", define)
	} else {
		obj = tc.BPFObjectNoBTFT(t, "testdata/diag.bpf.c", define)
	}
	return tc.GuestWasmT(t, testenv.Guest{
		Src:      "testdata/diag.c",
		Includes: []string{tc.EmbedObjectT(t, obj, "diag_bpf")},
	})
}

// publicCopy copies the CLI and the module into a directory anyone may
// read, for a run as another user.
func publicCopy(t *testing.T, cli, wasm string) (string, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "wbdiag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, f := range []string{cli, wasm} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, filepath.Base(cli)), filepath.Join(dir, filepath.Base(wasm))
}

// Ways to run the CLI: argv prefixes.
var (
	asNobody = []string{"setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--"}
	// root without the capabilities named, as a container may be.
	without = func(caps string) []string { return []string{"setpriv", "--bounding-set", caps, "--"} }
	// a private mount namespace where script ran first.
	inMountNS = func(script string) []string {
		return []string{"unshare", "-m", "--propagation", "private", "sh", "-c", script + ` && exec "$0" "$@"`}
	}
	noTracefs    = inMountNS("for m in /sys/kernel/debug/tracing /sys/kernel/tracing /sys/kernel/debug; do umount $m 2>/dev/null; done; ! grep -q tracefs /proc/mounts")
	noKernelBTF  = inMountNS("mount -t tmpfs wbdiag /sys/kernel/btf")
	noBPFFS      = inMountNS("umount /sys/fs/bpf 2>/dev/null; ! grep -q ' bpf ' /proc/mounts")
	kprobeLines  = "the kernel has no kprobes (no /sys/bus/event_source/devices/kprobe, no kprobe_events in tracefs): it was built without CONFIG_KPROBE_EVENTS, and this program cannot attach here"
	kprobeExists = "the kernel has no function \"wbdiag_no_such_function\" to probe (see /proc/kallsyms): this program cannot attach on this kernel"
)

func TestFailureMessages(t *testing.T) {
	testenv.RequireBPF(t)
	kprobe := kprobeLines
	if _, err := os.Stat("/sys/bus/event_source/devices/kprobe"); err == nil {
		kprobe = kprobeExists
	}
	tests := []struct {
		name   string
		define string
		noBTF  bool
		run    []string // argv before the CLI's
		flags  []string // the CLI's flags
		args   []string // programs to attach
		errno  int      // Linux errno the guest reads
		want   string   // the line after "wasm-bpf: "
		more   func(t *testing.T, lines []string)
	}{
		{
			name: "not root", define: "DIAG_TRACEPOINT", run: asNobody, args: []string{"wbdiag_tp"}, errno: 1,
			want: `cannot load BPF object "diag": operation not permitted: the process lacks CAP_BPF (for BPF maps and programs) and CAP_PERFMON (for tracepoint programs); run wasm-bpf as root, or give it these capabilities`,
		},
		{
			name: "root without CAP_PERFMON", define: "DIAG_TRACEPOINT", run: without("-perfmon,-sys_admin"), args: []string{"wbdiag_tp"}, errno: 1,
			want: `cannot load BPF object "diag": operation not permitted: the process lacks CAP_PERFMON (for tracepoint programs); run wasm-bpf as root, or give it this capability`,
		},
		{
			name: "root without CAP_NET_RAW", define: "DIAG_ATTACH", run: without("-net_raw,-net_admin,-sys_admin"), args: []string{"wbdiag_sock@lo"}, errno: 1,
			want: `cannot attach program "wbdiag_sock" (socket) to "lo": operation not permitted: the process lacks CAP_NET_RAW (for the raw packet socket a socket filter attaches to); run wasm-bpf as root, or give it this capability`,
		},
		{
			name: "tracefs not mounted", define: "DIAG_TRACEPOINT", run: noTracefs, args: []string{"wbdiag_tp"}, errno: 2,
			want: `cannot attach program "wbdiag_tp" (tp/sched/sched_process_exec): tracefs is not mounted, and the kernel's tracepoints are found through it: mount -t tracefs tracefs /sys/kernel/tracing`,
		},
		{
			name: "object without BTF", define: "DIAG_TRACEPOINT", noBTF: true, errno: 2,
			want: `cannot load BPF object "diag": it has no BTF (.BTF section), which BTF-defined maps and CO-RE relocations need: build it with clang -g`,
		},
		{
			name: "kernel without BTF", define: "DIAG_CORE", run: noKernelBTF, errno: 3,
			want: `cannot load BPF object "diag": the kernel has no BTF (/sys/kernel/btf/vmlinux is missing), which CO-RE relocations need: give the kernel's BTF in a file (wasm-bpf run --btf FILE; BTFHub has it for many kernels), or run it on a kernel built with CONFIG_DEBUG_INFO_BTF=y`,
		},
		{
			name: "verifier", define: "DIAG_VERIFIER", errno: 13,
			want: `cannot load BPF object "diag": the kernel's verifier refused program "wbdiag_reject" (tp/sched/sched_process_exec): permission denied; the end of its log (wasm-bpf -v prints all of it):`,
			more: func(t *testing.T, lines []string) {
				// The end of the verifier's log, as lines: its verdict,
				// then its count of instructions.
				if len(lines) < 2 || !strings.HasPrefix(lines[len(lines)-1], "    processed ") ||
					!strings.Contains(strings.Join(lines, "\n"), "invalid bpf_context access") {
					t.Errorf("the verifier's lines are not the end of its log:\n%s", strings.Join(lines, "\n"))
				}
			},
		},
		{
			// An unknown helper id: only "all" lets it reach the kernel.
			name: "helper the kernel lacks", define: "DIAG_HELPER", flags: []string{"--allow", "all"}, errno: 22,
			want: `cannot load BPF object "diag": the kernel does not provide BPF helper #250 to tracepoint programs such as "wbdiag_helper", by libbpf's feature probe: the program needs a newer kernel`,
		},
		{
			name: "BTF tracepoint the kernel lacks", define: "DIAG_BTF_TARGET", errno: 3,
			want: `cannot load BPF object "diag": the kernel has no function or BTF tracepoint "wbdiag_no_such_tracepoint", which program "wbdiag_btf" (tp_btf/wbdiag_no_such_tracepoint) attaches to: this program cannot run on this kernel`,
		},
		{
			name: "tracepoint the kernel lacks", define: "DIAG_ATTACH", args: []string{"wbdiag_tp_missing"}, errno: 2,
			want: `cannot attach program "wbdiag_tp_missing" (tp/sched/wbdiag_no_such_tracepoint): the kernel has no tracepoint sched/wbdiag_no_such_tracepoint (it is not in /sys/kernel/tracing/events): check the name in /sys/kernel/tracing/available_events`,
		},
		{
			name: "kprobe", define: "DIAG_ATTACH", args: []string{"wbdiag_kprobe"}, errno: 2,
			want: `cannot attach program "wbdiag_kprobe" (kprobe/wbdiag_no_such_function): ` + kprobe,
		},
		{
			name: "no such interface", define: "DIAG_ATTACH", args: []string{"wbdiag_sock@wbdiag0"}, errno: 19,
			want: `cannot attach program "wbdiag_sock" (socket) to "wbdiag0": no network interface "wbdiag0"`,
		},
		{
			// Nothing a guest loads is pinned: bpffs is never needed.
			name: "bpffs not mounted", define: "DIAG_PINNED", run: noBPFFS, args: []string{"wbdiag_pin"},
		},
	}
	if ok, err := libbpf.ProgTypeSupported(26); err == nil && !ok { // BPF_PROG_TYPE_TRACING
		tests = append(tests, struct {
			name   string
			define string
			noBTF  bool
			run    []string
			flags  []string
			args   []string
			errno  int
			want   string
			more   func(t *testing.T, lines []string)
		}{
			name: "program type the kernel lacks", define: "DIAG_FENTRY", errno: 1,
			want: "cannot load BPF object \"diag\": the kernel does not support BPF programs of type tracing (program \"wbdiag_fentry\", section fentry/do_unlinkat), by libbpf's feature probe: this program cannot run on this kernel (`bpftool feature probe kernel` lists the types it supports)",
		})
	} else {
		t.Logf("this kernel loads fentry programs: the unsupported program type case cannot be produced here")
	}
	cli := tc.CLIT(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasm := diagGuest(t, tt.define, !tt.noBTF)
			bin := cli
			if len(tt.run) > 0 {
				bin, wasm = publicCopy(t, cli, wasm)
			}
			argv := append(append(append(append([]string{}, tt.run...), bin, "--no-cache"), tt.flags...), wasm)
			argv = append(argv, tt.args...)
			cmd := exec.Command(argv[0], argv[1:]...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if tt.want == "" {
				if err != nil || strings.TrimSpace(stdout.String()) != "attached" || stderr.Len() > 0 {
					t.Fatalf("%v: %v\nstdout:\n%s\nstderr:\n%s", argv, err, stdout.String(), stderr.String())
				}
				return
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit %d, want 1 (the guest's)", code)
			}
			// One line of the runtime's, with the lines it quotes below it.
			if lines[0] != "wasm-bpf: "+tt.want {
				t.Errorf("the runtime says\n\t%s\nwant\n\t%s", lines[0], "wasm-bpf: "+tt.want)
			}
			for _, l := range lines[1:] {
				if !strings.HasPrefix(l, "    ") {
					t.Errorf("more than one line from the runtime:\n%s", stderr.String())
					break
				}
			}
			if tt.more != nil {
				tt.more(t, lines)
			}
			// The guest reads the same explanation and the errno.
			what := "load"
			if strings.HasPrefix(tt.want, "cannot attach") {
				what = "attach"
			}
			message := strings.Join(append([]string{tt.want}, lines[1:]...), "\n")
			wantOut := what + " failed: errno " + strconv.Itoa(tt.errno) + ": " + message
			if got := strings.TrimRight(stdout.String(), "\n"); got != wantOut {
				t.Errorf("the guest read\n\t%s\nwant\n\t%s", got, wantOut)
			}
			if t.Failed() {
				t.Logf("%v\nstdout:\n%s\nstderr:\n%s", argv, stdout.String(), stderr.String())
			}
		})
	}
}

// With -v, libbpf's messages are printed whole and as lines: the
// verifier's log of several KiB, to its end (the verdict), where it was
// cut at 1 KiB, one escaped line, before.
func TestVerboseLogIsWhole(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := diagGuest(t, "DIAG_VERIFIER_LONG", true)
	cmd := exec.Command(tc.CLIT(t), "-v", "--no-cache", wasm)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Run()
	out := stderr.String()
	begin := strings.Index(out, "libbpf: prog 'wbdiag_long': -- BEGIN PROG LOAD LOG --\n")
	end := strings.Index(out, "\n    -- END PROG LOAD LOG --\n")
	if begin < 0 || end < begin {
		t.Fatalf("no whole verifier log in the -v output:\n%.6000s", out)
	}
	log := out[begin:end]
	if len(log) < 4096 || !strings.Contains(log, "\n    invalid bpf_context access off=16384 size=4\n") || strings.Contains(log, `\n`) {
		t.Errorf("the verifier's log (%d bytes) is not whole, or not lines:\n%.6000s", len(log), log)
	}
}

// A C guest built on sdk/c/libbpf-wasm.h with -DWASM_BPF_EXT learns the
// cause of a failed load: errno is EPERM, so strerror says "Operation not
// permitted", and libbpf_wasm_last_error() is the runtime's line. Built
// without it, the guest imports nothing new and reads EINVAL, as before.
func TestCSDKLastError(t *testing.T) {
	testenv.RequireBPF(t)
	cli := tc.CLIT(t)
	obj := tc.BPFObjectT(t, "testdata/diag.bpf.c", "DIAG_TRACEPOINT")
	// In the store beside the object, as the guests are, so that the guests'
	// keys are the same in every run and scripts/kernel-matrix.sh's VMs
	// find them built.
	skel, err := tc.Stored("skel-"+filepath.Base(filepath.Dir(obj)), func(dir string) error {
		out, err := exec.Command(cli, "gen", "skeleton", "-n", "diag_bpf", obj).Output()
		if err != nil {
			return fmt.Errorf("gen skeleton: %w", err)
		}
		return os.WriteFile(filepath.Join(dir, "diag.skel.h"), out, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	const why = `cannot load BPF object "sdkerr": operation not permitted: the process lacks CAP_BPF (for BPF maps and programs) and CAP_PERFMON (for tracepoint programs); run wasm-bpf as root, or give it these capabilities`
	for _, tt := range []struct {
		ext  bool
		want string
	}{
		{true, "load: Operation not permitted: " + why},
		{false, "load: Invalid argument: "},
	} {
		var defines []string
		if tt.ext {
			defines = []string{"WASM_BPF_EXT"}
		}
		wasm := tc.GuestWasmT(t, testenv.Guest{Src: "testdata/sdkerr.c", Includes: []string{skel}, Defines: defines})
		bin, wasm := publicCopy(t, cli, wasm)
		cmd := exec.Command(asNobody[0], append(asNobody[1:], bin, "--no-cache", wasm)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		if got := strings.TrimRight(stdout.String(), "\n"); got != tt.want {
			t.Errorf("WASM_BPF_EXT %v: the guest printed\n\t%s\nwant\n\t%s\nstderr:\n%s", tt.ext, got, tt.want, stderr.String())
		}
		if got := strings.TrimRight(stderr.String(), "\n"); got != "wasm-bpf: "+why {
			t.Errorf("WASM_BPF_EXT %v: the runtime said\n\t%s", tt.ext, got)
		}
	}
}
