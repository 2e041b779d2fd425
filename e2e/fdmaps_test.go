package e2e

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"

	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

// A guest cannot put another guest's maps or programs, nor any fd of the
// host (sockets, pipes, eventfds, cgroups, pidfds, the perf event and
// epoll fds the runtime holds for the other guest's buffers), into a map
// whose values or keys the kernel reads as fds: every such call is -EBADF
// and never reaches the kernel. Its own maps and programs go where the
// kernel takes them, and work there (a map-in-map read, a tail call);
// lookups return ids. The other guest's objects leave the kernel when it
// ends, while this one still runs.
//
// fdmaps.bpf.c has a map of every such type this kernel creates: array
// and hash of maps, prog array, devmap (both value forms), devmap_hash,
// cpumap (both forms), sockmap (both forms), sockhash, reuseport
// sockarray, xskmap, cgroup array, perf event array, and sk, inode, task
// and cgroup storage. (Not struct_ops: the policy refuses an object with a
// .struct_ops section, which it cannot analyse; host/internal/cabi's test
// covers struct_ops updates.)
func TestFDsInMapValues(t *testing.T) {
	testenv.RequireBPF(t)
	wasm, storageMaps := fdmapsGuest(t)
	// Guest B, and every fd this process opened for it; guest A's objects
	// need "all".
	rt, b, before := startVictim(t)
	all, err := policy.New(policy.All)
	if err != nil {
		t.Fatal(err)
	}
	bObjs := b.held()
	bProgs, bMaps := bObjs.progs, bObjs.maps
	if len(bProgs) != 2 || len(bMaps) != 3 {
		b.fatalf("guest B holds %s; want 2 programs and 3 maps", bObjs)
	}
	var foreign []string // LABEL=FD arguments of guest A
	kinds := map[string]int{}
	for _, f := range sortedFDs(procFDs(t)) {
		if _, ok := before[f.fd]; ok {
			continue
		}
		var label string
		switch {
		case f.mapID != 0 && bMaps[f.mapID] != "":
			label = "b_map_" + bMaps[f.mapID]
		case f.progID != 0 && bProgs[f.progID] != "":
			label = "b_prog_" + bProgs[f.progID]
		case f.target == "anon_inode:[perf_event]":
			label = "b_perf_event"
		case f.target == "anon_inode:[eventpoll]":
			label = "b_epoll"
		case f.target == "anon_inode:[eventfd]":
			label = "b_eventfd"
		case f.target == "anon_inode:btf":
			label = "b_btf"
		case strings.HasPrefix(f.target, "pipe:"):
			label = "b_stdio_pipe"
		default:
			continue // a file the runtime opened and may close again: its number could become guest A's
		}
		kinds[label]++
		foreign = append(foreign, fmt.Sprintf("%s%d=%d", label, kinds[label], f.fd))
	}
	for _, want := range []string{"b_map_wbfdv_secret", "b_map_wbfdv_rb", "b_map_wbfdv_pb", "b_prog_wbfdv_prog",
		"b_prog_wbfdv_xdp", "b_perf_event", "b_epoll", "b_eventfd"} {
		if kinds[want] == 0 {
			t.Fatalf("found no fd %s* for guest B among %v", want, foreign)
		}
	}
	// Fds of the host.
	for label, fd := range hostFDs(t) {
		foreign = append(foreign, fmt.Sprintf("%s=%d", label, fd))
	}
	foreign = append(foreign, "stdin=0", "stdout=1", "stderr=2", "unused=100000", "negative=-1")

	// Guest A.
	var log lockedBuffer
	a, _ := startInstanceConfig(t, rt, host.Config{
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Policy: all,
	}, wasm, foreign...)
	a.waitLine("loaded", readyTimeout)
	aObjs := a.held()
	aProgs, aMaps := aObjs.progs, aObjs.maps
	fdOf := map[string]int{}
	for _, f := range procFDs(t) {
		if name := aProgs[f.progID]; f.progID != 0 && name != "" {
			fdOf[name] = f.fd
		}
	}
	if len(fdOf) != 4 { // wbfd_entry, wbfd_tail, wbfd_xdpdev, wbfd_xdpcpu
		a.fatalf("guest A's program fds in this process: %v, want 4 (programs in the kernel: %v)", fdOf, aProgs)
	}
	a.sendLine(fmt.Sprintf("own %d %d %d", fdOf["wbfd_tail"], fdOf["wbfd_xdpdev"], fdOf["wbfd_xdpcpu"]))
	a.waitLine("attached", readyTimeout)
	sp := newSpawner(t)
	a.waitFor("the programs to run", eventTimeout, func(ls []line) int {
		for i, l := range ls {
			if strings.HasPrefix(l.text, "works ") {
				return i
			}
		}
		sp.run("wbfd" + runID()) // an exec runs wbfd_entry
		return -1
	})
	a.waitLine("done", eventTimeout)

	// Every foreign fd, in every target: -EBADF; polls: -EINVAL.
	out := map[string][]string{} // first word -> the rest of each line
	for _, l := range a.stdout.snapshot() {
		if f := strings.Fields(l.text); len(f) > 1 {
			out[f[0]] = append(out[f[0]], strings.Join(f[1:], " "))
		}
	}
	// Value maps, storage maps x lookup/update/delete, the two polls; fds
	// <= 0 are no program fds for devmaps and cpumaps (3 maps).
	targets := 13 + storageMaps*3 + 2
	// Plus the 8 cases of the guest's own objects of the wrong kind.
	if want := len(foreign)*targets - 2*3 + 8; len(out["case"]) != want {
		a.errorf("%d case lines, want %d", len(out["case"]), want)
	}
	var wrong []string
	for _, c := range out["case"] {
		f := strings.Fields(c) // TARGET LABEL RET
		want := strconv.Itoa(eBADF)
		if f[0] == "poll" || f[0] == "batch" {
			want = strconv.Itoa(eINVAL)
		}
		if f[2] != want {
			wrong = append(wrong, fmt.Sprintf("%s with %s: %s, want %s", f[0], f[1], f[2], want))
		}
	}
	if len(wrong) > 0 {
		a.errorf("%d of %d foreign fds got through or got another error:\n  %s", len(wrong), len(out["case"]), strings.Join(wrong, "\n  "))
	}
	// The guest's own objects: accepted.
	if len(out["ok"]) != 11 {
		a.errorf("%d ok lines, want 11", len(out["ok"]))
	}
	for _, c := range out["ok"] {
		if f := strings.Fields(c); f[1] != "0" {
			a.errorf("inserting its own object: %s, want 0", c)
		}
	}
	// Lookups return ids, or nothing.
	id := func(objs map[int]string, name string) int {
		for id, n := range objs {
			if n == name {
				return id
			}
		}
		t.Fatalf("no %s in %v", name, objs)
		return 0
	}
	wantLookups := []string{
		fmt.Sprintf("wbfd_aom 0 %d", id(aMaps, "wbfd_inner")),
		fmt.Sprintf("wbfd_hom 0 %d", id(aMaps, "wbfd_inner")),
		fmt.Sprintf("wbfd_progs 0 %d", id(aProgs, "wbfd_tail")),
		fmt.Sprintf("wbfd_dev 0 1 %d", id(aProgs, "wbfd_xdpdev")),
		fmt.Sprintf("wbfd_devh 0 1 %d", id(aProgs, "wbfd_xdpdev")),
		fmt.Sprintf("wbfd_cpu 0 192 %d", id(aProgs, "wbfd_xdpcpu")),
		"wbfd_perf -524",  // ENOTSUPP: perf_event_fd_array has no map_fd_sys_lookup_elem
		"wbfd_cgarr -524", // the same for cgroup_array
		"wbfd_xsk -95",    // EOPNOTSUPP: xsk_map_lookup_elem_sys
		"wbfd_sock -28",   // ENOSPC: a sockmap lookup returns a u64 socket cookie, which a u32 value cannot hold
	}
	if got := strings.Join(out["lookup"], "\n"); got != strings.Join(wantLookups, "\n") {
		a.errorf("lookups:\n%s\nwant:\n%s", got, strings.Join(wantLookups, "\n"))
	}
	// The slots the refused inserts aimed at are empty.
	for _, c := range out["empty"] {
		if f := strings.Fields(c); f[1] != strconv.Itoa(eNOENT) {
			a.errorf("empty %s, want %d: a foreign fd got into the map", c, eNOENT)
		}
	}
	if len(out["empty"]) != 11 {
		a.errorf("%d empty lines, want 11", len(out["empty"]))
	}
	if want := fmt.Sprintf("%x %x %x", 0x7a11ca11, 0xa11ce0fd, 0xa11ce0fd); len(out["works"]) != 1 || out["works"][0] != want {
		a.errorf("the programs recorded %v, want %q (tail call, map-in-map reads)", out["works"], want)
	}
	// The log names the map, the fd and why.
	secretFD := fdOfMap(t, id(bMaps, "wbfdv_secret"))
	wantLog := fmt.Sprintf(`msg="wasm_bpf_map_operate: update (map type array_of_maps): the value carries fd %d, which is not a map of this guest" map=wbfd_aom`, secretFD)
	if !strings.Contains(log.String(), wantLog) {
		a.errorf("the log has no line %s", wantLog)
	}
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.Contains(l, wantLog) {
			t.Logf("a refusal in the log: %s", l)
			break
		}
	}

	// B ends while A runs: none of B's objects stays in the kernel.
	b.sendLine("end")
	if code := b.waitExit(exitTimeout); code != 0 {
		b.fatalf("exit %d (%v)", code, b.err)
	}
	assertGone(t, b, bObjs)
	if a.ended() {
		a.fatalf("guest A ended before guest B's objects were checked")
	}
	a.sendLine("end")
	if code := a.waitExit(exitTimeout); code != 0 {
		a.fatalf("exit %d (%v)", code, a.err)
	}
	assertGone(t, a, aObjs)
}

// fdmapsGuest builds fdmaps.c around fdmaps.bpf.c, without its cgroup
// storage map where the kernel has none (before Linux 6.2), and returns it
// and the number of its local storage maps. It builds both forms on any
// kernel, so that a store filled on the host (scripts/kernel-matrix.sh)
// holds the one each VM's kernel runs.
func fdmapsGuest(t *testing.T) (string, int) {
	t.Helper()
	build := func(defines ...string) string {
		obj := tc.BPFObjectT(t, "testdata/fdmaps.bpf.c", defines...)
		return tc.GuestWasmT(t, testenv.Guest{
			Src:      "testdata/fdmaps.c",
			Includes: []string{tc.EmbedObjectT(t, obj, "fdmaps_bpf")},
			Defines:  defines,
		})
	}
	with, without := build(), build("WBFD_NO_CGRP_STORAGE")
	switch err := features.HaveMapType(ebpf.CgroupStorage); {
	case err == nil:
		return with, 4
	case errors.Is(err, ebpf.ErrNotSupported):
		t.Logf("the kernel has no cgroup storage maps: the guest goes without wbfd_cgrp")
		return without, 3
	default:
		t.Fatalf("probe cgroup storage maps: %v", err)
		return "", 0
	}
}

// startVictim starts guest B of these tests (fdvictim.c, whose map holds a
// secret) in a new runtime, and waits for it to be ready. It returns this
// process's fds from before B started.
func startVictim(t *testing.T) (rt *host.Runtime, b *guest, before map[int]procFD) {
	t.Helper()
	wasm := guestWasm(t, "fdvictim", []string{"fdvictim"})
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	// Its xdp/devmap program needs the "network" profile.
	network, err := policy.New(policy.Network)
	if err != nil {
		t.Fatal(err)
	}
	before = procFDs(t)
	b, _ = startInstanceConfig(t, rt, host.Config{Policy: network}, wasm)
	b.waitLine("ready", readyTimeout)
	return rt, b, before
}

// procFD is one open fd of this process.
type procFD struct {
	fd            int
	target        string // what /proc/self/fd/N links to
	mapID, progID int    // for BPF maps and programs
}

func procFDs(t *testing.T) map[int]procFD {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[int]procFD{}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // closed meanwhile (the directory's own fd)
		}
		f := procFD{fd: fd, target: target}
		if strings.HasPrefix(target, "anon_inode:bpf-") {
			info := fdInfo(os.Getpid(), fd)
			f.mapID, f.progID = info["map_id"], info["prog_id"]
		}
		fds[fd] = f
	}
	return fds
}

func sortedFDs(m map[int]procFD) []procFD {
	out := make([]procFD, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].fd < out[j].fd })
	return out
}

// fdOfMap is this process's fd of the map with this id.
func fdOfMap(t *testing.T, id int) int {
	t.Helper()
	for _, f := range procFDs(t) {
		if f.mapID == id {
			return f.fd
		}
	}
	t.Fatalf("no fd of map %d in this process", id)
	return -1
}

// hostFDs opens fds of kinds a guest never owns, closed at the test's end:
// label -> fd.
func hostFDs(t *testing.T) map[string]int {
	t.Helper()
	fds := map[string]int{}
	keep := func(label string, fd int, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		fds[label] = fd
	}
	// A listening TCP socket: a sockmap would take it.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	keep("tcp_listener", fd, err)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	keep("udp", fd, err)
	fd, err = unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	keep("af_xdp", fd, err)
	var p [2]int
	err = unix.Pipe2(p[:], unix.O_CLOEXEC)
	keep("pipe_r", p[0], err)
	keep("pipe_w", p[1], nil)
	fd, err = unix.Eventfd(0, unix.EFD_CLOEXEC)
	keep("eventfd", fd, err)
	fd, err = unix.PidfdOpen(os.Getpid(), 0)
	keep("pidfd", fd, err)
	fd, err = unix.Open(cgroup2Root(t), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	keep("cgroup", fd, err)
	fd, err = unix.Open(os.Args[0], unix.O_RDONLY|unix.O_CLOEXEC, 0)
	keep("file", fd, err)
	return fds
}

// cgroup2Root finds the cgroup v2 hierarchy in /proc/mounts.
func cgroup2Root(t *testing.T) string {
	t.Helper()
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[2] == "cgroup2" {
			return f[1]
		}
	}
	testenv.Unavailable(t, "no cgroup2 mount in /proc/mounts")
	return ""
}

// A guest cannot reach a map of another guest through its code either: a
// program whose 16-byte load names a map by the number of a host fd (not
// by a relocation, which libbpf fills in with the object's own map) is
// refused under every policy, "all" included, and nothing of it reaches
// the kernel. (libbpf passed the load as it was, the kernel took the
// number as an fd of the host, and the program read guest B's secret.)
func TestFDsInCode(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "rawfd", []string{"rawfd"})
	rt, b, _ := startVictim(t)
	secretID := named(b.held().maps, "wbfdv_secret")
	if len(secretID) != 1 {
		b.fatalf("guest B holds %s, want one map wbfdv_secret", b.held())
	}
	secret := fdOfMap(t, secretID[0])
	for _, grant := range []string{policy.Observe, policy.All} {
		t.Run(grant, func(t *testing.T) {
			pol, err := policy.New(grant)
			if err != nil {
				t.Fatal(err)
			}
			var log lockedBuffer
			a, _ := startInstanceConfig(t, rt, host.Config{
				Logger: slog.New(slog.NewTextHandler(&log, nil)),
				Policy: pol,
			}, wasm, strconv.Itoa(secret))
			a.waitFor(`"load refused" or "ready"`, readyTimeout, func(ls []line) int {
				for i, l := range ls {
					if l.text == "load refused" || l.text == "ready" {
						return i
					}
				}
				return -1
			})
			if held := a.held(); !held.empty() {
				newSpawner(t).run("wbraw" + runID())
				a.sendLine("end")
				a.waitExit(exitTimeout)
				a.fatalf("the object reached the kernel (the guest holds %s): %s", held, a.stdout)
			}
			a.sendLine("end")
			if code := a.waitExit(exitTimeout); code != 0 {
				a.fatalf("exit %d", code)
			}
			want := fmt.Sprintf(`code in section \"tp/sched/sched_process_exec\" (instruction 2) loads map fd %d by number, not through a relocation`, secret)
			if !strings.Contains(log.String(), want) {
				a.fatalf("the log lacks %q:\n%s", want, log.String())
			}
		})
	}
	b.sendLine("end")
	b.waitExit(exitTimeout)
}

// A map of maps holds only maps of its own object: another object's map
// would stay in the kernel, held there, once its object is closed, and
// count toward no limit. A guest that kept one object and loaded, linked
// and closed another in a loop held any number of maps under
// MaxMapMemory, and its objects' programs likewise through prog arrays.
func TestMapsHoldOnlyTheirObjects(t *testing.T) {
	testenv.RequireBPF(t)
	obj, err := os.ReadFile(tc.BPFObjectT(t, filepath.Join("testdata", "linger.bpf.c")))
	if err != nil {
		t.Fatal(err)
	}
	a, err := policy.Analyze(obj)
	if err != nil {
		t.Fatal(err)
	}
	wasm := guestWasm(t, "linger", []string{"linger"})
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	const n = 6
	var log lockedBuffer
	g, _ := startInstanceConfig(t, rt, host.Config{
		MaxMapMemory: 2*uint64(a.MapMemory()) + uint64(a.MapMemory())/2, // room for two objects
		Logger:       slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, wasm, strconv.Itoa(n))
	g.waitLine("done", readyTimeout)
	// The guest holds the object it kept, and its outer map holds none of
	// the maps of the objects it closed (which nothing else would hold).
	held := g.held()
	outer, big := named(held.maps, "wbln_outer"), named(held.maps, "wbln_big")
	if len(outer) != 1 || len(big) != 1 || len(held.maps) != 2 {
		g.fatalf("the guest holds %s, want the maps of one object, wbln_outer and wbln_big", held)
	}
	var foreign []string
	for slot, inner := range innerMapIDs(t, fdOfMap(t, outer[0])) {
		if _, ok := held.maps[inner]; !ok {
			foreign = append(foreign, fmt.Sprintf("slot %d: map %d", slot, inner))
		}
	}
	if len(foreign) > 0 {
		sort.Strings(foreign)
		g.errorf("wbln_outer holds maps of no object the guest holds (%s): %s", held, strings.Join(foreign, ", "))
	}
	for i := range n {
		g.waitLine(fmt.Sprintf("insert %d %d", i, eBADF), time.Second)
	}
	if want := "which is not a map of this map's object"; !strings.Contains(log.String(), want) {
		g.errorf("the log does not say %q:\n%s", want, log.String())
	}
	g.sendLine("end")
	if code := g.waitExit(exitTimeout); code != 0 {
		g.fatalf("exit %d", code)
	}
	assertGone(t, g, held)
}

// innerMapIDs reads the map of maps this process holds fd of: slot -> the
// id of the map in it. It reads through a copy of fd, and opens no map by
// id (bpfobjs_test.go says why).
func innerMapIDs(t *testing.T, fd int) map[uint32]int {
	t.Helper()
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ebpf.NewMapFromFD(dup)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ids := map[uint32]int{}
	for slot := range m.MaxEntries() {
		var id uint32
		switch err := m.Lookup(slot, &id); {
		case errors.Is(err, ebpf.ErrKeyNotExist):
		case err != nil:
			t.Fatalf("slot %d of map fd %d: %v", slot, fd, err)
		default:
			ids[slot] = int(id)
		}
	}
	return ids
}
