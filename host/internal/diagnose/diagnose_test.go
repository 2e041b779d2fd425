package diagnose

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// fake is a machine with the capabilities caps, tracefs mounted or not,
// and every program type and helper supported but those named.
func fake(caps uint64, tracefs bool, noTypes ...libbpf.ProgType) Machine {
	return Machine{
		Caps:      func() uint64 { return caps },
		Mounted:   func(string, int64) bool { return tracefs },
		Exists:    func(string) bool { return true },
		KernelBTF: func() bool { return true },
		Lockdown:  func() string { return "integrity" },
		ProgType: func(t libbpf.ProgType) (bool, error) {
			for _, n := range noTypes {
				if n == t {
					return false, nil
				}
			}
			return true, nil
		},
		Helper: func(libbpf.ProgType, int) (bool, error) { return false, nil },
	}
}

const all = 1<<capBPF | 1<<capPerfmon | 1<<capNetAdmin | 1<<capNetRaw | 1<<capSysAdmin

func lerr(op string, errno syscall.Errno, log ...string) error {
	return &libbpf.Error{Op: op, Err: errno, Log: log}
}

func TestLoad(t *testing.T) {
	tp := Program{Name: "p", Section: "tp/sched/x", Type: 5}
	xdp := Program{Name: "x", Section: "xdp", Type: libbpf.ProgTypeXDP}
	memlock := "libbpf: permission error while running as root; try raising 'ulimit -l'? current value: 8.0 MiB"
	tests := []struct {
		name string
		m    Machine
		o    Object
		err  error
		want string
	}{
		{"no capabilities", fake(0, true), Object{Name: "o", BTF: true, Programs: []Program{tp, xdp}}, lerr("load", syscall.EPERM, memlock),
			`cannot load BPF object "o": operation not permitted: the process lacks CAP_BPF (for BPF maps and programs), CAP_PERFMON (for tracepoint programs) and CAP_NET_ADMIN (for xdp programs); run wasm-bpf as root, or give it these capabilities`},
		{"CAP_SYS_ADMIN covers CAP_BPF and CAP_PERFMON", fake(1<<capSysAdmin, true), Object{Name: "o", BTF: true, Programs: []Program{tp, xdp}}, lerr("load", syscall.EPERM),
			`cannot load BPF object "o": operation not permitted: the process lacks CAP_NET_ADMIN (for xdp programs); run wasm-bpf as root, or give it this capability`},
		{"EPERM with every capability", fake(all, true), Object{Name: "o", BTF: true, Programs: []Program{tp}}, lerr("load", syscall.EPERM, memlock, "libbpf: prog 'p': failed to load: -1"),
			`cannot load BPF object "o": operation not permitted, although the process has the capabilities a load needs: the kernel or a security module forbids it (kernel lockdown is "integrity")`},
		{"unsupported type", fake(all, true, 29), Object{Name: "o", BTF: true, Programs: []Program{tp, {Name: "l", Section: "lsm/path_rmdir", Type: 29}}}, lerr("load", syscall.EPERM),
			"cannot load BPF object \"o\": the kernel does not support BPF programs of type lsm (program \"l\", section lsm/path_rmdir), by libbpf's feature probe: this program cannot run on this kernel (`bpftool feature probe kernel` lists the types it supports)"},
		{"no BTF", fake(all, true), Object{Name: "o"}, lerr("open", syscall.ENOENT, "libbpf: BTF is required, but is missing or corrupted."),
			`cannot load BPF object "o": it has no BTF (.BTF section), which BTF-defined maps and CO-RE relocations need: build it with clang -g`},
		{"verifier", fake(all, true), Object{Name: "o", BTF: true, Programs: []Program{tp}},
			lerr("load", syscall.EACCES, "libbpf: prog 'p': BPF program load failed: Permission denied", "libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n1\n2\n3\n4\n5\n6\nprocessed 6 insns\n-- END PROG LOAD LOG --\n"),
			"cannot load BPF object \"o\": the kernel's verifier refused program \"p\" (tp/sched/x): permission denied; the end of its log (wasm-bpf -v prints all of it):\n    3\n    4\n    5\n    6\n    processed 6 insns"},
		{"helper", fake(all, true), Object{Name: "o", BTF: true, Programs: []Program{tp}},
			lerr("load", syscall.EINVAL, "libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n0: (85) call bpf_foo#212\nunknown func bpf_foo#212\nprocessed 1 insns\n-- END PROG LOAD LOG --\n"),
			`cannot load BPF object "o": the kernel does not provide BPF helper bpf_foo (#212) to tracepoint programs such as "p", by libbpf's feature probe: the program needs a newer kernel`},
		{"not an object", fake(all, true), Object{Name: "o"}, fmt.Errorf(`open "o": not a BPF relocatable object (ELFCLASS32 EM_386 ET_EXEC) (%w)`, syscall.EINVAL),
			`cannot load BPF object "o": open "o": not a BPF relocatable object (ELFCLASS32 EM_386 ET_EXEC) (invalid argument); wasm-bpf -v prints libbpf's whole log`},
		{"other", fake(all, true), Object{Name: "o", BTF: true, Programs: []Program{tp}}, lerr("load", syscall.E2BIG, memlock, "libbpf: map 'm': failed to create: Argument list too long(-7)", "libbpf: failed to load object 'o'"),
			`cannot load BPF object "o": argument list too long (libbpf: map 'm': failed to create: Argument list too long(-7)); wasm-bpf -v prints libbpf's whole log`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Load(tt.m, tt.o, tt.err); got != tt.want {
				t.Errorf("got\n\t%s\nwant\n\t%s", got, tt.want)
			}
			if got := Load(tt.m, tt.o, tt.err); strings.Contains(got, "ulimit") || strings.Contains(got, "MEMLOCK") {
				t.Errorf("libbpf's RLIMIT_MEMLOCK hint quoted: %s", got)
			}
		})
	}
}

func TestAttach(t *testing.T) {
	tests := []struct {
		name   string
		m      Machine
		p      Program
		target string
		err    error
		want   string
	}{
		{"tracepoint without CAP_PERFMON", fake(1<<capBPF, true), Program{Name: "p", Section: "tp/a/b", Type: 5}, "", lerr("attach", syscall.EACCES),
			`cannot attach program "p" (tp/a/b): permission denied: the process lacks CAP_PERFMON (for attaching tracepoint programs); run wasm-bpf as root, or give it this capability`},
		{"no tracefs", fake(all, false), Program{Name: "p", Section: "tp/a/b", Type: 5}, "", lerr("attach", syscall.ENOENT),
			`cannot attach program "p" (tp/a/b): tracefs is not mounted, and the kernel's tracepoints are found through it: mount -t tracefs tracefs /sys/kernel/tracing`},
		{"cgroup", fake(all, true), Program{Name: "c", Section: "cgroup_skb/egress", Type: libbpf.ProgTypeCgroupSKB}, "/sys/fs/cgroup/x", lerr("attach", syscall.ENOENT),
			`cannot attach program "c" (cgroup_skb/egress) to "/sys/fs/cgroup/x": no cgroup v2 directory "/sys/fs/cgroup/x"`},
		{"twice", fake(all, true), Program{Name: "p", Section: "tp/a/b", Type: 5}, "", lerr("attach", syscall.EEXIST),
			`cannot attach program "p" (tp/a/b): it is already attached there (the kernel allows a program once per hook)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Attach(tt.m, tt.p, tt.target, tt.err); got != tt.want {
				t.Errorf("got\n\t%s\nwant\n\t%s", got, tt.want)
			}
		})
	}
}
