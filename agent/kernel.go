package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// KernelFDs lists the file descriptors of this process that hold a BPF
// program, map or link, or a perf event (a tracepoint or probe
// attachment), as "fd 12 (bpf-map)". Guests' objects live only as long as
// such fds (nothing is pinned), so none once every guest has ended means
// none of theirs stayed in the kernel.
func KernelFDs() ([]string, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("list fds: %w", err)
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // closed meanwhile, or the directory's own fd
		}
		kind, ok := strings.CutPrefix(target, "anon_inode:")
		if !ok {
			continue
		}
		switch kind {
		case "bpf-map", "bpf-prog", "bpf_link", "bpf-link", "[perf_event]":
			out = append(out, fmt.Sprintf("fd %s (%s)", e.Name(), strings.Trim(kind, "[]")))
		}
	}
	sort.Slice(out, func(i, j int) bool { return fdNum(out[i]) < fdNum(out[j]) })
	return out, nil
}

func fdNum(s string) int {
	n, _ := strconv.Atoi(strings.Fields(s)[1])
	return n
}

// HostMount is a kernel file system that guests reach through the agent:
// a container running the agent needs each mounted from the host at the
// same path (deploy/kubernetes does so).
type HostMount struct {
	Path  string
	Magic int64 // statfs f_type
	Why   string
}

// HostMounts are the kernel file systems guests use.
var HostMounts = []HostMount{
	{"/sys/kernel/btf", 0x62656572, "the kernel's BTF, against which CO-RE relocates every object"},                               // sysfs
	{"/sys/kernel/tracing", 0x74726163, "tracefs: tracepoints, kprobes and uprobes attach through it"},                            // TRACEFS_MAGIC
	{"/sys/kernel/debug", 0x64626720, "debugfs: kernels that mount tracefs only under it (debug/tracing)"},                        // DEBUGFS_MAGIC
	{"/sys/fs/bpf", 0xcafe4a11, "bpffs: libbpf looks for pinned objects there (the agent pins none)"},                             // BPF_FS_MAGIC
	{"/sys/fs/cgroup", 0, "cgroup v2 (here or below): cgroup programs attach to its directories, and tp_btf/kprobe read cgroups"}, // cgroup2 or a tmpfs holding it
}

// CheckHostMounts says which HostMounts are missing or hold another file
// system, so that `serve` can warn at start.
func CheckHostMounts() []string {
	var out []string
	for _, m := range HostMounts {
		var st syscall.Statfs_t
		if err := syscall.Statfs(m.Path, &st); err != nil {
			out = append(out, fmt.Sprintf("%s (%s): %v", m.Path, m.Why, err))
		} else if m.Magic != 0 && st.Type != m.Magic {
			out = append(out, fmt.Sprintf("%s (%s) is not mounted (file system type %#x)", m.Path, m.Why, st.Type))
		}
	}
	return out
}
