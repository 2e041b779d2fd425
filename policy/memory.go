package policy

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
)

// Sizes of kernel structures in the estimates, rounded up (x86_64, 6.x,
// without lockdep): the estimate is an upper bound of what the kernel's
// own map_mem_usage reports (/proc/PID/fdinfo/FD "memlock"), which the
// tests compare it with.
const (
	pageSize      = 4096
	mapOverhead   = 1024 // struct bpf_map and the type's own struct
	htabElem      = 56   // struct htab_elem before its key
	htabBucket    = 16   // struct bucket
	llistNode     = 8
	stackBucket   = 24 // struct stack_map_bucket before its data
	lpmNode       = 48 // struct lpm_trie_node before its data
	devmapEntry   = 128
	cpumapQueue   = 16384 * 8 // the largest ptr_ring a cpumap entry can ask for
	ptrSize       = 8
	defaultHashes = 5 // a bloom filter's hash functions when map_extra says none
)

// mapMemory estimates the kernel memory a map takes when full, following
// each type's map_mem_usage in the kernel (kernel/bpf/*.c): what the kernel
// allocates at creation (arrays, preallocated hashes, ring buffers) and
// what it allocates as the map fills (hashes without preallocation, LPM
// tries) up to max_entries. Local storage (sk, inode, task, cgrp) has no
// max_entries and grows with the objects it is stored on: only the map
// itself is counted. The result saturates instead of overflowing.
func mapMemory(m *ebpf.MapSpec, ncpu int) uint64 {
	n := uint64(m.MaxEntries)
	cpus := uint64(max(ncpu, 1))
	key, value := round8(m.KeySize), round8(m.ValueSize)
	mem := uint64(mapOverhead)
	add := func(parts ...uint64) {
		p := uint64(1)
		for _, x := range parts {
			p = mulSat(p, x)
		}
		mem = addSat(mem, p)
	}
	switch m.Type {
	case ebpf.Array:
		// libbpf makes the maps of global data (.bss, .data, .rodata,
		// .kconfig) mmapable.
		if m.Flags&bpfFMmapable != 0 || strings.HasPrefix(m.Name, ".") {
			// Its header and its data each take whole pages.
			add(pageSize + pageAlign(mulSat(n, value)))
		} else {
			add(n, value)
		}
	case ebpf.PerCPUArray:
		add(n, ptrSize)
		add(n, value, cpus)
	case ebpf.PerfEventArray:
		if n == 0 {
			n = cpus // libbpf sizes it to the CPUs
		}
		add(n, ptrSize)
	case ebpf.ProgramArray, ebpf.CGroupArray, ebpf.ArrayOfMaps, ebpf.SockMap, ebpf.XSKMap,
		ebpf.ReusePortSockArray:
		add(n, ptrSize)
	case ebpf.Hash, ebpf.LRUHash, ebpf.PerCPUHash, ebpf.LRUCPUHash, ebpf.HashOfMaps, ebpf.SockHash:
		percpu := m.Type == ebpf.PerCPUHash || m.Type == ebpf.LRUCPUHash
		elem := htabElem + key
		if percpu {
			elem += ptrSize
		} else {
			elem += value
		}
		add(pow2(n), htabBucket)
		add(cpus, 8*4)      // bucket locks
		entries := n + cpus // the extra per-CPU elements of preallocated hashes
		add(entries, elem+llistNode)
		if percpu {
			add(entries, value, cpus)
			add(entries, llistNode+ptrSize)
		} else {
			add(cpus, ptrSize)
		}
	case ebpf.StackTrace:
		add(pow2(n), ptrSize)
		add(n, stackBucket+uint64(m.ValueSize))
	case ebpf.Queue, ebpf.Stack:
		add(n+1, uint64(m.ValueSize))
	case ebpf.LPMTrie:
		// Up to one intermediate node per entry besides the entries.
		add(2, n, lpmNode+uint64(m.KeySize)+uint64(m.ValueSize))
	case ebpf.BloomFilter:
		hashes := m.MapExtra & 0xf
		if hashes == 0 {
			hashes = defaultHashes
		}
		// nr_bits = entries * hashes / ln 2, rounded up to a power of two.
		bitsNeeded := mulSat(mulSat(n, hashes), 145) / 100
		add(max(pow2(bitsNeeded)/8, 8))
	case ebpf.RingBuf, ebpf.UserRingbuf:
		pages := n/pageSize + 3 // the data pages, the consumer and producer pages
		add(pages, pageSize)
		add(2*pages, ptrSize) // the page array, mapped twice
	case ebpf.DevMap:
		add(n, ptrSize+devmapEntry)
	case ebpf.DevMapHash:
		add(pow2(n), htabBucket)
		add(n, devmapEntry+32)
	case ebpf.CPUMap:
		add(n, ptrSize+devmapEntry+cpumapQueue)
	case ebpf.CGroupStorage:
		add(value) // per attachment
	case ebpf.PerCPUCGroupStorage:
		add(value, cpus) // per attachment
	case ebpf.StructOpsMap:
		add(value + pageSize) // the value and its trampoline page
	case ebpf.Arena:
		add(n, pageSize)
	case ebpf.SkStorage, ebpf.InodeStorage, ebpf.TaskStorage, ebpf.CgroupStorage:
		// Grows with the objects it is stored on; see above.
	default:
		// A type this table does not know: count it as a full hash.
		add(n, htabElem+key+value+htabBucket)
	}
	return mem
}

// bpfFMmapable is BPF_F_MMAPABLE.
const bpfFMmapable = 1 << 10

func round8(x uint32) uint64 { return (uint64(x) + 7) &^ 7 }

func pageAlign(x uint64) uint64 {
	if x > ^uint64(0)-pageSize {
		return ^uint64(0)
	}
	return (x + pageSize - 1) &^ (pageSize - 1)
}

// pow2 rounds up to a power of two (1 for 0).
func pow2(x uint64) uint64 {
	if x <= 1 {
		return 1
	}
	if x > 1<<63 {
		return ^uint64(0)
	}
	return 1 << bits.Len64(x-1)
}

func mulSat(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return ^uint64(0)
	}
	return lo
}

// Bytes is an amount of memory; it prints as "256 MiB".
type Bytes uint64

func (b Bytes) String() string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", uint64(b))
	}
	v, i := float64(b), -1
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if uint64(b)%(1<<(10*(i+1))) == 0 {
		s = strings.TrimSuffix(s, ".0")
	}
	return s + " " + "KMGTPE"[i:i+1] + "iB"
}
