package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe" // the BPF_*_GET_NEXT_ID commands take their attribute by pointer

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// What a guest holds in the kernel, and whether it has left, found exactly
// on a machine where other programs (other runs of these tests among them)
// load BPF objects at the same time, so never by name or by count.
//
// A guest's objects are those its process holds fds of (an in-process
// guest's: those this process gained since it started), read from
// /proc/PID/fdinfo; their names come through a copy of the fd itself
// (pidfd_getfd). Whether an id is still in the kernel is found by walking
// ids (BPF_*_GET_NEXT_ID). Neither opens an object by id, as bpftool does:
// on Linux 6.18 a prog array opened by id just as its last fd closes can
// stay in the kernel for good (prog_array_map_clear takes a map reference
// and schedules work that drops it; if the work is already queued, the
// reference is never dropped). Watching objects leave must not keep them,
// ours or anyone else's.

// bpfObjs are BPF objects by id, and the fds through which a process held
// them.
type bpfObjs struct {
	progs map[int]string // id -> name ("" if its fd closed before the name was read)
	maps  map[int]string // id -> name (likewise)
	links map[int]int    // id -> the id of the program it links
	fds   map[int]fdRef  // fd -> what it refers to

	progArrays map[int]bool // the ids of the maps that are prog arrays
}

// fdRef is the object an fd refers to: its fdinfo field ("prog_id",
// "map_id", "link_id") and its id.
type fdRef struct {
	field string
	id    int
}

func (o bpfObjs) empty() bool { return len(o.progs)+len(o.maps)+len(o.links) == 0 }

func (o bpfObjs) String() string {
	list := func(m map[int]string) string {
		var s []string
		for _, id := range slices.Sorted(maps.Keys(m)) {
			s = append(s, fmt.Sprintf("%d %s", id, m[id]))
		}
		return "[" + strings.Join(s, ", ") + "]"
	}
	var links []string
	for _, id := range slices.Sorted(maps.Keys(o.links)) {
		links = append(links, fmt.Sprintf("%d of prog %d", id, o.links[id]))
	}
	return fmt.Sprintf("progs %s, maps %s, links [%s]", list(o.progs), list(o.maps), strings.Join(links, ", "))
}

// minus is o without the objects of base.
func (o bpfObjs) minus(base bpfObjs) bpfObjs {
	out := bpfObjs{progs: maps.Clone(o.progs), maps: maps.Clone(o.maps), links: maps.Clone(o.links), fds: maps.Clone(o.fds), progArrays: o.progArrays}
	maps.DeleteFunc(out.progs, func(id int, _ string) bool { _, ok := base.progs[id]; return ok })
	maps.DeleteFunc(out.maps, func(id int, _ string) bool { _, ok := base.maps[id]; return ok })
	maps.DeleteFunc(out.links, func(id, _ int) bool { _, ok := base.links[id]; return ok })
	inBase := map[fdRef]bool{}
	for _, r := range base.fds {
		inBase[r] = true
	}
	maps.DeleteFunc(out.fds, func(_ int, r fdRef) bool { return inBase[r] })
	return out
}

// has reports whether o holds, through one of its fds, the object with
// this fdinfo field and id.
func (o bpfObjs) has(field string, id int) bool {
	for _, r := range o.fds {
		if r == (fdRef{field, id}) {
			return true
		}
	}
	return false
}

// named returns the ids of the objects of m called name.
func named(m map[int]string, name string) []int {
	var ids []int
	for id, n := range m {
		if n == name {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// fdInfo reads /proc/PID/fdinfo/FD: its numeric fields by name. It returns
// nil if the fd is closed.
func fdInfo(pid, fd int) map[string]int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return nil
	}
	defer f.Close()
	kv := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			kv[k] = n
		}
	}
	return kv
}

// heldBy returns the BPF programs, maps and links process pid holds fds of.
// It fails the test if the process has ended.
func heldBy(t *testing.T, pid int) bpfObjs {
	t.Helper()
	// The pidfd pins the process: its number cannot name another one while
	// its fds are read.
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("the BPF objects process %d holds: pidfd_open: %v", pid, err)
	}
	defer unix.Close(pidfd)
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("the BPF objects process %d holds: %v", pid, err)
	}
	o := bpfObjs{progs: map[int]string{}, maps: map[int]string{}, links: map[int]int{}, fds: map[int]fdRef{}, progArrays: map[int]bool{}}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		kv := fdInfo(pid, fd)
		// A link's fdinfo names its program too: that makes it no program.
		if id, ok := kv["link_id"]; ok {
			o.links[id] = kv["prog_id"]
			o.fds[fd] = fdRef{"link_id", id}
		} else if id, ok := kv["prog_id"]; ok {
			o.progs[id] = objName(pidfd, fd, id, progName)
			o.fds[fd] = fdRef{"prog_id", id}
		} else if id, ok := kv["map_id"]; ok {
			o.maps[id] = objName(pidfd, fd, id, mapName)
			o.fds[fd] = fdRef{"map_id", id}
			if kv["map_type"] == unix.BPF_MAP_TYPE_PROG_ARRAY {
				o.progArrays[id] = true
			}
		}
	}
	// A process that has ended holds no fds: what was read would look like
	// a guest that holds nothing. Its pidfd is readable once it has.
	if n, _ := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, 0); n > 0 {
		t.Fatalf("the BPF objects process %d holds: it has ended", pid)
	}
	return o
}

// objName reads the name of the object with this id through a copy of fd
// of the process pidfd refers to; "" if fd no longer refers to it.
func objName(pidfd, fd, id int, name func(fd int) (string, int, error)) string {
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return ""
	}
	n, got, err := name(dup) // closes dup
	if err != nil || got != id {
		return ""
	}
	return n
}

func progName(fd int) (string, int, error) {
	p, err := ebpf.NewProgramFromFD(fd)
	if err != nil {
		unix.Close(fd)
		return "", 0, err
	}
	defer p.Close()
	info, err := p.Info()
	if err != nil {
		return "", 0, err
	}
	id, _ := info.ID()
	return info.Name, int(id), nil
}

func mapName(fd int) (string, int, error) {
	m, err := ebpf.NewMapFromFD(fd)
	if err != nil {
		unix.Close(fd)
		return "", 0, err
	}
	defer m.Close()
	info, err := m.Info()
	if err != nil {
		return "", 0, err
	}
	id, _ := info.ID()
	return info.Name, int(id), nil
}

// watchClose watches the fds through which process pid holds o, and
// returns a function that stops watching and says when the first of them
// stopped referring to its object: when the runtime, the guest having
// ended, began to close what it held. (Closing takes the kernel's time:
// detaching a link waits for RCU grace periods, which take long on a busy
// machine, and is the kernel's share of a stop, not the runtime's.)
func watchClose(pid int, o bpfObjs) (stop func() (time.Time, bool)) {
	quit, done := make(chan struct{}), make(chan struct{})
	var at time.Time
	go func() {
		defer close(done)
		for {
			for fd, r := range o.fds {
				if fdInfo(pid, fd)[r.field] != r.id {
					at = time.Now()
					return
				}
			}
			select {
			case <-quit:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() (time.Time, bool) {
		close(quit)
		<-done
		return at, !at.IsZero()
	}
}

// inKernel returns which of o are still in the kernel, as lines.
func inKernel(t *testing.T, o bpfObjs) []string {
	t.Helper()
	var left []string
	progs, mps, links := kernelIDs(t, unix.BPF_PROG_GET_NEXT_ID), kernelIDs(t, unix.BPF_MAP_GET_NEXT_ID), kernelIDs(t, unix.BPF_LINK_GET_NEXT_ID)
	for _, id := range slices.Sorted(maps.Keys(o.progs)) {
		if progs[id] {
			left = append(left, fmt.Sprintf("prog %d %s", id, o.progs[id]))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(o.maps)) {
		if !mps[id] {
			continue
		}
		left = append(left, fmt.Sprintf("map %d %s", id, o.maps[id]))
		if o.progArrays[id] && !heldBy(t, os.Getpid()).has("map_id", id) {
			// The kernel's bug, not necessarily the runtime's: say so.
			left[len(left)-1] += " (a prog array no fd of this process refers to: Linux 6.18 keeps one for good " +
				"if another program opens it by id, as bpftool map show does, just as it is freed; " +
				"unless something on this machine lists BPF objects, the runtime leaked it)"
		}
	}
	for _, id := range slices.Sorted(maps.Keys(o.links)) {
		if links[id] {
			left = append(left, fmt.Sprintf("link %d of prog %d", id, o.links[id]))
		}
	}
	return left
}

// assertGone waits up to 3 s (the kernel frees objects asynchronously, and
// ids are not reused) for every object of o to leave the kernel. g, if not
// nil, is the guest that held them: a failure shows its output.
func assertGone(t *testing.T, g *guest, o bpfObjs) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := inKernel(t, o)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			msg := "these are still in the kernel 3 s after the guest let them go: " + strings.Join(left, ", ")
			if g == nil {
				t.Fatal(msg)
			}
			g.fatalf("%s", msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kernelIDs walks the kernel's ids with cmd (BPF_PROG_GET_NEXT_ID,
// BPF_MAP_GET_NEXT_ID or BPF_LINK_GET_NEXT_ID), which opens nothing.
func kernelIDs(t *testing.T, cmd uintptr) map[int]bool {
	t.Helper()
	ids := map[int]bool{}
	var attr struct{ start, next, openFlags uint32 }
	for {
		_, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		if errors.Is(errno, unix.ENOENT) {
			return ids
		}
		if errno != 0 {
			t.Fatalf("bpf command %d (get next id): %v", cmd, errno)
		}
		ids[int(attr.next)] = true
		attr.start = attr.next
	}
}

// held returns the BPF objects the guest holds: its process's, for a guest
// run through the CLI; for one run in this process, those this process
// holds and did not when the guest started (so take them before starting
// another guest here).
func (g *guest) held() bpfObjs {
	g.t.Helper()
	if g.cmd != nil {
		return heldBy(g.t, g.cmd.Process.Pid)
	}
	return heldBy(g.t, os.Getpid()).minus(g.base)
}
