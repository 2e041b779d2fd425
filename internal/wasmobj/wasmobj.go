// Package wasmobj finds the BPF objects a WebAssembly module carries in its
// data: ELF files whose machine is EM_BPF, however the guest embeds them (a
// C skeleton's array, Go's embed, a raw array).
//
// It reads only the module's data section, rebuilding what the active
// segments put in linear memory (a toolchain may split one object over
// several segments: Go's linker leaves out every run of 8 or more zero
// bytes) and looking into passive segments as they are. Every length and
// count it reads is bounded by the module's own size and by the limits
// below: the module may be hostile.
//
// An object the guest builds at run time (decompressed, downloaded,
// assembled) is not in its data and cannot be found here; the host still
// checks every object when it is loaded.
package wasmobj

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Limits on what a module can make Find allocate.
const (
	MaxObjectSize = 64 << 20  // one object
	MaxTotalSize  = 256 << 20 // all objects of one module
	MaxObjects    = 256
)

// Object is one BPF ELF object found in a module.
type Object struct {
	// Where is where it lies: "memory 0x1234" for data that active
	// segments place at a known address, "data segment N+0x10" for a
	// passive segment or one placed at an address known only at run time.
	Where string
	Data  []byte // the object's bytes, a copy
}

// Find returns the BPF objects in the data of the module wasm, in the order
// they lie there.
func Find(wasm []byte) ([]Object, error) {
	segs, err := dataSegments(wasm)
	if err != nil {
		return nil, err
	}
	var placed, alone []segment
	for _, s := range segs {
		if s.placed {
			placed = append(placed, s)
		} else {
			alone = append(alone, s)
		}
	}
	f := finder{}
	if err := f.scan(newImage(placed), placed, "memory 0x%x"); err != nil {
		return nil, err
	}
	for _, s := range alone {
		s.addr = 0
		one := []segment{s}
		if err := f.scan(newImage(one), one, fmt.Sprintf("data segment %d+0x%%x", s.index)); err != nil {
			return nil, err
		}
	}
	return f.found, nil
}

type finder struct {
	found []Object
	total int
}

var elfMagic = []byte(elf.ELFMAG)

// scan looks for ELF headers in the bytes of segs, read through img.
func (f *finder) scan(img *image, segs []segment, where string) error {
	end := uint64(0) // the end of the last object found: objects do not nest
	for _, s := range segs {
		for i := 0; ; {
			j := bytes.Index(s.data[i:], elfMagic)
			if j < 0 {
				break
			}
			at := s.addr + uint64(i+j)
			i += j + 1
			if at < end {
				continue
			}
			size, ok := bpfELFSize(io.NewSectionReader(img, int64(at), MaxObjectSize))
			if !ok || at+size > img.end {
				continue
			}
			if len(f.found) == MaxObjects || f.total+int(size) > MaxTotalSize {
				return fmt.Errorf("more than %d objects or %d MiB of objects in the module", MaxObjects, MaxTotalSize>>20)
			}
			data := make([]byte, size)
			if _, err := img.ReadAt(data, int64(at)); err != nil {
				return err
			}
			f.found = append(f.found, Object{Where: fmt.Sprintf(where, at), Data: data})
			f.total += int(size)
			end = at + size
		}
	}
	return nil
}

// bpfELFSize returns the size of the 64-bit EM_BPF ELF file at the start of
// r: the end of its section header table or of its last section, whichever
// is later.
func bpfELFSize(r *io.SectionReader) (uint64, bool) {
	var ident [elf.EI_NIDENT]byte
	if _, err := r.ReadAt(ident[:], 0); err != nil || elf.Class(ident[elf.EI_CLASS]) != elf.ELFCLASS64 {
		return 0, false
	}
	f, err := elf.NewFile(r)
	if err != nil || f.Machine != elf.EM_BPF {
		return 0, false
	}
	var hdr elf.Header64
	if err := binary.Read(io.NewSectionReader(r, 0, int64(binary.Size(hdr))), f.ByteOrder, &hdr); err != nil || hdr.Shoff > MaxObjectSize {
		return 0, false
	}
	// At least its own header (FuzzFind found a header claiming no
	// section table and no sections).
	size := max(hdr.Shoff+uint64(hdr.Shnum)*uint64(hdr.Shentsize), uint64(binary.Size(hdr)))
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS {
			size = max(size, s.Offset+s.FileSize)
		}
	}
	return size, size <= MaxObjectSize
}

// segment is one data segment.
type segment struct {
	index  int
	placed bool   // active, in memory 0, at a constant address
	addr   uint64 // where, if placed
	data   []byte // a slice of the module
}

// image is linear memory as the placed segments initialise it; what no
// segment covers reads as zero, as in a fresh memory.
type image struct {
	segs   []segment // by address; a later one wins where they overlap
	maxEnd []uint64  // maxEnd[i]: the largest end among segs[:i+1]
	end    uint64
}

func newImage(segs []segment) *image {
	img := &image{segs: slices.Clone(segs)}
	slices.SortStableFunc(img.segs, func(a, b segment) int {
		switch {
		case a.addr < b.addr:
			return -1
		case a.addr > b.addr:
			return 1
		}
		return 0
	})
	for _, s := range img.segs {
		img.end = max(img.end, s.addr+uint64(len(s.data)))
		img.maxEnd = append(img.maxEnd, img.end)
	}
	return img
}

func (img *image) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	start := uint64(off)
	if start >= img.end {
		return 0, io.EOF
	}
	n := len(p)
	if uint64(n) > img.end-start {
		n = int(img.end - start)
	}
	stop := start + uint64(n)
	clear(p[:n])
	hi, _ := slices.BinarySearchFunc(img.segs, stop, func(s segment, t uint64) int {
		if s.addr < t {
			return -1
		}
		return 1
	})
	lo := hi
	for lo > 0 && img.maxEnd[lo-1] > start {
		lo--
	}
	for _, s := range img.segs[lo:hi] {
		sEnd := s.addr + uint64(len(s.data))
		if sEnd <= start {
			continue
		}
		from, to := max(s.addr, start), min(sEnd, stop)
		copy(p[from-start:to-start], s.data[from-s.addr:to-s.addr])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
