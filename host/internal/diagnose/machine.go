package diagnose

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// Where libbpf looks.
const (
	vmlinuxBTF     = "/sys/kernel/btf/vmlinux"
	tracefsDir     = "/sys/kernel/tracing"
	debugfsTracing = "/sys/kernel/debug/tracing"
	kprobePMU      = "/sys/bus/event_source/devices/kprobe"
	lockdownFile   = "/sys/kernel/security/lockdown"
)

// Machine is what an explanation looks up on the host. Host returns the
// real one; tests replace what they need to.
type Machine struct {
	Caps      func() uint64                                 // the effective capabilities, a bit per CAP_*
	Mounted   func(dir string, magic int64) bool            // a file system of that magic is mounted at dir
	Exists    func(path string) bool                        //
	KernelBTF func() bool                                   // the kernel exposes its BTF
	Lockdown  func() string                                 // the kernel lockdown mode: "none", "integrity", ...
	ProgType  func(libbpf.ProgType) (bool, error)           // libbpf_probe_bpf_prog_type
	Helper    func(t libbpf.ProgType, id int) (bool, error) // libbpf_probe_bpf_helper
}

// Host is the machine the process runs on.
func Host() Machine {
	return Machine{
		Caps:      effectiveCaps,
		Mounted:   mounted,
		Exists:    exists,
		KernelBTF: func() bool { return exists(vmlinuxBTF) },
		Lockdown:  lockdown,
		ProgType:  libbpf.ProgTypeSupported,
		Helper:    libbpf.HelperSupported,
	}
}

// effectiveCaps are the calling thread's; Go applies capability changes
// to every thread of the process.
func effectiveCaps() uint64 {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32
}

func mounted(dir string, magic int64) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && int64(st.Type) == magic
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// lockdown reads the selected mode, the one in brackets: "none
// [integrity] confidentiality".
func lockdown() string {
	b, err := os.ReadFile(lockdownFile)
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.IndexByte(s, '['); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, ']'); j >= 0 {
			return s[:j]
		}
	}
	return ""
}

// tracefs reports whether tracefs is where libbpf looks for tracepoints.
func (m Machine) tracefs() bool {
	return m.Mounted(tracefsDir, unix.TRACEFS_MAGIC) || m.Mounted(debugfsTracing, unix.TRACEFS_MAGIC)
}

// forbidden says what refuses a load that has the privileges it needs.
func (m Machine) forbidden() string {
	s := "the kernel or a security module forbids it"
	if l := m.Lockdown(); l != "" && l != "none" {
		s += fmt.Sprintf(" (kernel lockdown is %q)", l)
	}
	return s
}

// Capabilities.
const (
	capNetAdmin = unix.CAP_NET_ADMIN
	capNetRaw   = unix.CAP_NET_RAW
	capSysAdmin = unix.CAP_SYS_ADMIN
	capPerfmon  = unix.CAP_PERFMON
	capBPF      = unix.CAP_BPF
)

var capNames = map[int]string{
	capNetAdmin: "CAP_NET_ADMIN",
	capNetRaw:   "CAP_NET_RAW",
	capSysAdmin: "CAP_SYS_ADMIN",
	capPerfmon:  "CAP_PERFMON",
	capBPF:      "CAP_BPF",
}

// need is a capability and what it is needed for.
type need struct {
	cap int
	why string
}

// Program types the kernel loads only with CAP_PERFMON, and only with
// CAP_NET_ADMIN (kernel/bpf/syscall.c: is_perfmon_prog_type,
// is_net_admin_prog_type), by enum bpf_prog_type.
var (
	perfmonTypes  = map[libbpf.ProgType]bool{2: true, 5: true, 7: true, 17: true, 24: true, 26: true, 27: true, 28: true, 29: true}
	netAdminTypes = map[libbpf.ProgType]bool{3: true, 4: true, 6: true, 8: true, 9: true, 10: true, 11: true, 12: true, 13: true,
		14: true, 15: true, 16: true, 18: true, 19: true, 22: true, 23: true, 25: true, 30: true, 32: true}
)

// loadNeeds is what loading programs of these types needs.
func loadNeeds(progs []Program) []need {
	needs := []need{{capBPF, "BPF maps and programs"}}
	var perf, net []string
	seen := map[libbpf.ProgType]bool{}
	for _, p := range progs {
		if seen[p.Type] {
			continue
		}
		seen[p.Type] = true
		switch {
		case perfmonTypes[p.Type]:
			perf = append(perf, p.Type.String())
		case netAdminTypes[p.Type]:
			net = append(net, p.Type.String())
		}
	}
	if len(perf) > 0 {
		needs = append(needs, need{capPerfmon, strings.Join(perf, ", ") + " programs"})
	}
	if len(net) > 0 {
		needs = append(needs, need{capNetAdmin, strings.Join(net, ", ") + " programs"})
	}
	return needs
}

// attachNeeds is what attaching a program of type t needs.
func attachNeeds(t libbpf.ProgType) []need {
	switch {
	case t == libbpf.ProgTypeSocketFilter:
		return []need{{capNetRaw, "the raw packet socket a socket filter attaches to"}}
	case perfmonTypes[t]:
		return []need{{capPerfmon, "attaching " + t.String() + " programs"}}
	case netAdminTypes[t]:
		return []need{{capNetAdmin, "attaching " + t.String() + " programs"}}
	}
	return []need{{capBPF, "attaching BPF programs"}}
}

// missing returns the needs the process's capabilities do not meet.
// CAP_SYS_ADMIN covers CAP_BPF and CAP_PERFMON (and is what kernels
// before 5.8, which lack both, ask for).
func (m Machine) missing(needs []need) []need {
	caps := m.Caps()
	has := func(c int) bool { return caps&(1<<c) != 0 }
	var out []need
	for _, n := range needs {
		if has(n.cap) || (n.cap == capBPF || n.cap == capPerfmon) && has(capSysAdmin) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// lacks names the missing capabilities, what for, and the fix.
func lacks(miss []need) string {
	var parts []string
	for _, n := range miss {
		parts = append(parts, capNames[n.cap]+" (for "+n.why+")")
	}
	list := parts[0]
	if len(parts) > 1 {
		list = strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	}
	these := "this capability"
	if len(parts) > 1 {
		these = "these capabilities"
	}
	return "the process lacks " + list + "; run wasm-bpf as root, or give it " + these
}
