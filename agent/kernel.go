package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
