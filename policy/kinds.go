package policy

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
)

// progTypeNames are the kernel's names of its program types (enum
// bpf_prog_type without BPF_PROG_TYPE_, in lower case, as libbpf prints
// them), by value.
var progTypeNames = []string{
	"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp",
	"perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops",
	"sk_skb", "cgroup_device", "sk_msg", "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local",
	"lirc_mode2", "sk_reuseport", "flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable",
	"cgroup_sockopt", "tracing", "struct_ops", "ext", "lsm", "sk_lookup", "syscall", "netfilter",
}

// mapTypeNames are the kernel's names of its map types, by value.
var mapTypeNames = []string{
	"unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array",
	"stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
	"hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
	"reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
	"struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter", "user_ringbuf",
	"cgrp_storage", "arena",
}

func progTypeName(t ebpf.ProgramType) string {
	if int(t) < len(progTypeNames) {
		return progTypeNames[t]
	}
	return fmt.Sprintf("prog_type_%d", uint32(t))
}

func mapTypeName(t ebpf.MapType) string {
	if int(t) < len(mapTypeNames) {
		return mapTypeNames[t]
	}
	return fmt.Sprintf("map_type_%d", uint32(t))
}

// mapTypeByName is the map type mapTypeName calls name.
func mapTypeByName(name string) (ebpf.MapType, bool) {
	for t := range mapTypeNames {
		if mapTypeNames[t] == name {
			return ebpf.MapType(t), true
		}
	}
	return 0, false
}

// kind names what a program is: its type's name, except for the types
// whose attach type changes what they can do. A tracing program may only
// watch as fentry, fexit, tp_btf or iter, but fmod_ret changes return
// values; an LSM program decides for one cgroup as lsm_cgroup.
func kind(t ebpf.ProgramType, a ebpf.AttachType) string {
	switch t {
	case ebpf.Tracing:
		switch a {
		case ebpf.AttachTraceRawTp:
			return "tp_btf"
		case ebpf.AttachTraceFEntry:
			return "fentry"
		case ebpf.AttachTraceFExit:
			return "fexit"
		case ebpf.AttachModifyReturn:
			return "fmod_ret"
		case ebpf.AttachTraceIter:
			return "iter"
		}
	case ebpf.LSM:
		if a == ebpf.AttachLSMCgroup {
			return "lsm_cgroup"
		}
	}
	return progTypeName(t)
}

// kindProfiles says which profile grants each kind of program. A kind not
// here (struct_ops, ext, syscall, lirc_mode2, writable raw tracepoints,
// tracing programs of other attach types, types newer than this table)
// only "all" grants, or prog:KIND.
var kindProfiles = map[string]string{
	// Watch: run where the kernel fires them and report.
	"socket_filter":  Observe, // on the guest's own packet socket: it sees copies of packets
	"kprobe":         Observe, // kprobe, kretprobe, ksyscall, uprobe, uretprobe, usdt
	"tracepoint":     Observe,
	"raw_tracepoint": Observe,
	"perf_event":     Observe,
	"tp_btf":         Observe,
	"fentry":         Observe,
	"fexit":          Observe,
	"iter":           Observe,

	// Decide the fate of packets and connections.
	"xdp": Network, "sched_cls": Network, "sched_act": Network,
	"cgroup_skb": Network, "cgroup_sock": Network, "cgroup_sock_addr": Network, "cgroup_sockopt": Network,
	"sock_ops": Network, "sk_skb": Network, "sk_msg": Network, "sk_lookup": Network,
	"sk_reuseport": Network, "flow_dissector": Network, "netfilter": Network,
	"lwt_in": Network, "lwt_out": Network, "lwt_xmit": Network, "lwt_seg6local": Network,

	// Decide what processes may do.
	"lsm": Security, "lsm_cgroup": Security, "fmod_ret": Security,
	"cgroup_device": Security, "cgroup_sysctl": Security,
}

// attachedByTarget reports whether a program of this kind attaches to a
// target given at attach time rather than to one its section names.
func attachedByTarget(kind string) bool {
	switch kind {
	case "socket_filter", "xdp":
		return true
	}
	return isCgroupKind(kind)
}

// isCgroupKind reports whether programs of this kind attach to a cgroup.
func isCgroupKind(kind string) bool {
	switch kind {
	case "cgroup_skb", "cgroup_sock", "cgroup_sock_addr", "cgroup_sockopt", "cgroup_device",
		"cgroup_sysctl", "sock_ops":
		return true
	}
	return false
}

// sectionAliases maps libbpf's section prefixes to one canonical name per
// attach point: tp/ is tracepoint/, and a sleepable variant (".s") attaches
// where the plain one does.
var sectionAliases = map[string]string{
	"tp":                "tracepoint",
	"raw_tp":            "raw_tracepoint",
	"raw_tp.w":          "raw_tracepoint.w",
	"fentry.s":          "fentry",
	"fexit.s":           "fexit",
	"fmod_ret.s":        "fmod_ret",
	"lsm.s":             "lsm",
	"iter.s":            "iter",
	"uprobe.s":          "uprobe",
	"uretprobe.s":       "uretprobe",
	"uprobe.multi.s":    "uprobe.multi",
	"uretprobe.multi.s": "uretprobe.multi",
	"kprobe.session":    "kprobe.session",
}

// target is the canonical attach point of a section (see Program.Target).
func target(section, kind string) string {
	if attachedByTarget(kind) {
		return ""
	}
	prefix, rest, ok := strings.Cut(section, "/")
	if alias, ok := sectionAliases[prefix]; ok {
		prefix = alias
	}
	if !ok {
		return prefix
	}
	switch prefix {
	case "tracepoint":
		// libbpf reads the id of tracefs' events/CATEGORY/NAME/id, which
		// has no symlinks: the tracepoint is where the cleaned path leads
		// ("sched/../syscalls/x" is syscalls/x; "/sched/x" is sched/x).
		rest = path.Clean(strings.TrimLeft(rest, "/"))
	case "uprobe", "uretprobe", "usdt", "uprobe.multi", "uretprobe.multi":
		// PATH:FUNC, PATH:OFFSET or PATH:PROVIDER:NAME, the path cleaned
		// for reading; CheckAttach judges the binary the kernel opens.
		if path, fn, ok := strings.Cut(rest, ":"); ok && path != "" {
			rest = filepath.Clean(path) + ":" + fn
		}
	}
	return prefix + "/" + rest
}

// sectionPath is the binary's path a uprobe-like section names, as
// written, and whether it names one.
func sectionPath(section string) (string, bool) {
	_, rest, _ := strings.Cut(section, "/")
	path, _, ok := strings.Cut(rest, ":")
	return path, ok && path != ""
}

// mapProfile is the profile that grants maps of a type: the maps that hold
// sockets and devices serve redirects ("network"); struct_ops maps replace
// kernel operations, and types newer than this table are unknown ("all").
func mapProfile(t ebpf.MapType) string {
	switch t {
	case ebpf.SockMap, ebpf.SockHash, ebpf.DevMap, ebpf.DevMapHash, ebpf.CPUMap, ebpf.XSKMap,
		ebpf.ReusePortSockArray:
		return Network
	case ebpf.StructOpsMap:
		return All
	}
	if int(t) >= len(mapTypeNames) {
		return All
	}
	return Observe
}
