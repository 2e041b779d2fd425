package wasmobj

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"testing"
)

// bpfELF is a minimal 64-bit little-endian EM_BPF object: a header, a
// payload (with a run of zeros, as Go's linker would leave out of its data
// segments) and the section headers of .shstrtab.
func bpfELF(payload int) []byte {
	shstr := []byte("\x00.shstrtab\x00.data\x00")
	var b bytes.Buffer
	hdr := elf.Header64{
		Type: uint16(elf.ET_REL), Machine: uint16(elf.EM_BPF), Version: uint32(elf.EV_CURRENT),
		Ehsize: 64, Shentsize: 64, Shnum: 3, Shstrndx: 1,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	data := make([]byte, payload)
	for i := range data {
		if i < payload/3 || i > payload/2 {
			data[i] = byte(i%251 + 1)
		}
	}
	hdr.Shoff = uint64(64 + len(shstr) + len(data))
	binary.Write(&b, binary.LittleEndian, hdr)
	b.Write(shstr)
	b.Write(data)
	for _, s := range []elf.Section64{
		{},
		{Name: 1, Type: uint32(elf.SHT_STRTAB), Off: 64, Size: uint64(len(shstr)), Addralign: 1},
		{Name: 11, Type: uint32(elf.SHT_PROGBITS), Off: uint64(64 + len(shstr)), Size: uint64(len(data)), Addralign: 1},
	} {
		binary.Write(&b, binary.LittleEndian, s)
	}
	return b.Bytes()
}

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

type seg struct {
	mode   byte   // 0 active, 1 passive
	offset []byte // the constant expression, without its end
	data   []byte
}

func active(addr int64, data []byte) seg { return seg{0, append([]byte{0x41}, sleb(addr)...), data} }

// module is a core module with a custom section and a data section.
func module(segs ...seg) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	custom := append(uleb(4), "name"...)
	b = append(b, 0)
	b = append(append(b, uleb(uint64(len(custom)))...), custom...)
	body := uleb(uint64(len(segs)))
	for _, s := range segs {
		body = append(body, s.mode)
		if s.mode == 0 {
			body = append(append(body, s.offset...), 0x0b)
		}
		body = append(append(body, uleb(uint64(len(s.data)))...), s.data...)
	}
	b = append(b, sectionData)
	b = append(append(b, uleb(uint64(len(body)))...), body...)
	return b
}

// splitZeros cuts data into the segments Go's linker would emit: every run
// of 8 or more zero bytes is left out.
func splitZeros(addr int64, data []byte) []seg {
	var segs []seg
	for i := 0; i < len(data); {
		for i < len(data) && data[i] == 0 {
			i++
		}
		j := i
		for j < len(data) {
			if bytes.Equal(data[j:min(j+8, len(data))], make([]byte, min(8, len(data)-j))) {
				break
			}
			j++
		}
		if j > i {
			segs = append(segs, active(addr+int64(i), data[i:j]))
		}
		i = j
	}
	return segs
}

func TestFind(t *testing.T) {
	obj := bpfELF(600)
	other := bpfELF(100)
	notBPF := bytes.Clone(other)
	binary.LittleEndian.PutUint16(notBPF[18:], uint16(elf.EM_X86_64))
	withObj := func(prefix []byte) []byte { return append(append(bytes.Clone(prefix), obj...), 0xaa, 0xbb) }

	for _, c := range []struct {
		name string
		wasm []byte
		want []Object
	}{
		{"one segment", module(active(1024, withObj([]byte("header")))), []Object{{"memory 0x406", obj}}},
		{"split at zero runs", module(splitZeros(0x10000, withObj(nil))...), []Object{{"memory 0x10000", obj}}},
		{"segments out of order", module(append(splitZeros(0x10000, withObj(nil))[1:], splitZeros(0x10000, withObj(nil))[0])...), []Object{{"memory 0x10000", obj}}},
		{"passive", module(seg{mode: 1, data: withObj([]byte("xy"))}), []Object{{"data segment 0+0x2", obj}}},
		{"offset from a global", module(seg{0, []byte{0x23, 0}, withObj(nil)}), []Object{{"data segment 0+0x0", obj}}},
		{"extended const", module(seg{0, []byte{0x41, 0x10, 0x41, 0x20, 0x6a}, obj}), []Object{{"memory 0x30", obj}}},
		{"two objects, one not BPF", module(active(0, append(append(bytes.Clone(obj), notBPF...), other...))),
			[]Object{{"memory 0x0", obj}, {fmt.Sprintf("memory 0x%x", len(obj)+len(notBPF)), other}}},
		{"truncated object", module(active(0, obj[:len(obj)-10])), nil},
		{"no data section", []byte("\x00asm\x01\x00\x00\x00"), nil},
	} {
		got, err := Find(c.wasm)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: found %d objects, want %d", c.name, len(got), len(c.want))
			continue
		}
		for i := range got {
			if got[i].Where != c.want[i].Where || !bytes.Equal(got[i].Data, c.want[i].Data) {
				t.Errorf("%s: object %d at %s (%d bytes), want %s (%d bytes)", c.name, i, got[i].Where, len(got[i].Data), c.want[i].Where, len(c.want[i].Data))
			}
		}
	}
}

func TestFindHostile(t *testing.T) {
	huge := bpfELF(100)
	binary.LittleEndian.PutUint64(huge[40:], 1<<40) // section headers a TiB away
	for name, wasm := range map[string][]byte{
		"not wasm":          []byte("\x7fELF"),
		"a component":       []byte("\x00asm\x0d\x00\x01\x00"),
		"section too long":  append([]byte("\x00asm\x01\x00\x00\x00\x0b"), uleb(1<<31)...),
		"too many segments": append([]byte("\x00asm\x01\x00\x00\x00\x0b\x05"), uleb(1<<30)...),
		"segment too long":  module(seg{mode: 1})[:len(module(seg{mode: 1}))-1],
		"bad mode":          module(seg{mode: 7}),
		"bad expression":    module(seg{0, []byte{0xfc}, nil}),
		"unbounded leb":     append([]byte("\x00asm\x01\x00\x00\x00\x0b"), bytes.Repeat([]byte{0xff}, 20)...),
	} {
		if objs, err := Find(wasm); err == nil && len(objs) > 0 {
			t.Errorf("%s: found %d objects", name, len(objs))
		}
	}
	objs, err := Find(module(active(0, huge)))
	if err != nil || len(objs) != 0 {
		t.Errorf("object claiming a TiB: %d objects, %v", len(objs), err)
	}
}

// FuzzFind: no module makes Find panic, hang or allocate past its limits.
func FuzzFind(f *testing.F) {
	obj := bpfELF(300)
	f.Add(module(active(64, obj)))
	f.Add(module(splitZeros(4096, obj)...))
	f.Add(module(seg{mode: 1, data: obj}, active(0, obj)))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		objs, err := Find(wasm)
		if err != nil {
			return
		}
		total := 0
		for _, o := range objs {
			if !bytes.HasPrefix(o.Data, []byte(elf.ELFMAG)) || len(o.Data) > MaxObjectSize {
				t.Fatalf("object at %s: %d bytes, starting % x", o.Where, len(o.Data), o.Data[:min(4, len(o.Data))])
			}
			total += len(o.Data)
		}
		if total > MaxTotalSize || len(objs) > MaxObjects {
			t.Fatalf("%d objects, %d bytes", len(objs), total)
		}
	})
}
