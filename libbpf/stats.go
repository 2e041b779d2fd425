package libbpf

/*
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include "shim.h"

// wb_global_u64 maps the kernel's memory of the global data section that
// holds the 8-byte global variable name, read-only, and returns the
// variable's address in it (and the mapping in *base and *len), or NULL.
// libbpf 1.4 maps global data to the kernel's memory only for skeletons.
static uint64_t *wb_global_u64(struct bpf_object *obj, const char *name, void **base, size_t *len)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *m;

	if (!btf)
		return NULL;
	bpf_object__for_each_map(m, obj) {
		const struct btf_type *sec;
		const struct btf_var_secinfo *v;
		int i;

		if (!bpf_map__is_internal(m) || !(bpf_map__map_flags(m) & BPF_F_MMAPABLE) || bpf_map__fd(m) < 0)
			continue;
		sec = btf__type_by_id(btf, bpf_map__btf_value_type_id(m));
		if (!sec || !btf_is_datasec(sec))
			continue;
		v = btf_var_secinfos(sec);
		for (i = 0; i < btf_vlen(sec); i++, v++) {
			const struct btf_type *var = btf__type_by_id(btf, v->type);
			long page = sysconf(_SC_PAGESIZE);
			void *p;

			if (!var || strcmp(btf__name_by_offset(btf, var->name_off), name) != 0)
				continue;
			if (v->size != 8 || v->offset % 8 || v->offset + 8 > bpf_map__value_size(m))
				return NULL;
			*len = (bpf_map__value_size(m) + page - 1) / page * page;
			p = mmap(NULL, *len, PROT_READ, MAP_SHARED, bpf_map__fd(m), 0);
			if (p == MAP_FAILED)
				return NULL;
			*base = p;
			return (uint64_t *)((char *)p + v->offset);
		}
	}
	return NULL;
}
*/
import "C"

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// Counters add up what the polls of a set of buffers did (CountInto). The
// polls of one set must not run concurrently, which is so for the buffers
// of one guest; any goroutine may Load them meanwhile.
type Counters struct{ c *C.struct_wb_counters }

// PollCounts are the totals of Counters.
type PollCounts struct {
	Polls    uint64        // polls that reached a buffer
	Records  uint64        // records handed to the poller
	Lost     uint64        // records perf buffers reported lost (PERF_RECORD_LOST)
	PollTime time.Duration // time in polls, waits included
}

// NewCounters returns zeroed counters; Free releases them.
func NewCounters() *Counters {
	return &Counters{c: (*C.struct_wb_counters)(C.calloc(1, C.sizeof_struct_wb_counters))}
}

// Load reads the counters.
func (c *Counters) Load() PollCounts {
	load := func(p *C.uint64_t) uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(p))) }
	return PollCounts{
		Polls:    load(&c.c.polls),
		Records:  load(&c.c.records),
		Lost:     load(&c.c.lost),
		PollTime: time.Duration(load(&c.c.poll_ns)),
	}
}

// Free releases the counters; no buffer counting into them may poll again.
func (c *Counters) Free() {
	C.free(unsafe.Pointer(c.c))
	c.c = nil
}

// CountInto makes every later poll of the buffer add to c (until the
// buffer is closed).
func (p *poller) CountInto(c *Counters) { p.c.counters = c.c }

// GlobalU64 is a read-only view of an 8-byte global variable of a loaded
// object, as the kernel's map holds it now.
type GlobalU64 struct {
	base unsafe.Pointer
	len  C.size_t
	p    *uint64
}

// GlobalU64 maps the 8-byte global variable name of the loaded object (in
// .bss, .data or another global data section): nil if the object has none
// or the kernel cannot map its section. Close it before the object.
func (o *Object) GlobalU64(name string) *GlobalU64 {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	g := &GlobalU64{}
	p := C.wb_global_u64(o.obj, cname, &g.base, &g.len)
	if p == nil {
		return nil
	}
	g.p = (*uint64)(unsafe.Pointer(p))
	return g
}

// Load reads the variable; BPF programs may change it at any time.
func (g *GlobalU64) Load() uint64 { return atomic.LoadUint64(g.p) }

// Close unmaps the variable.
func (g *GlobalU64) Close() {
	C.munmap(g.base, g.len)
	g.p = nil
}

// Memlock is the kernel memory that the BPF map or program behind fd
// accounts ("memlock" in /proc/self/fdinfo).
func Memlock(fd int) (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "memlock:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("fd %d: no memlock in fdinfo", fd)
}
