package wasmobj

import (
	"bytes"
	"errors"
	"fmt"
)

// The little of the WebAssembly binary format Find needs: the section
// headers, and in the data section each segment's mode, offset expression
// and bytes.

const sectionData = 11

var errTruncated = errors.New("truncated")

// reader reads a byte slice; every read is bounded by what is left.
type reader struct {
	b   []byte
	off int
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.off) {
		return nil, errTruncated
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// uleb reads an unsigned LEB128 of at most bits bits.
func (r *reader) uleb(bits uint) (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift >= bits || shift+7 > bits && c&0x7f>>(bits-shift) != 0 {
			return 0, errors.New("integer too large")
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
}

// sleb reads a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits uint) (int64, error) {
	var v int64
	shift := uint(0)
	for {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift >= bits {
			return 0, errors.New("integer too large")
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
}

// dataSegments reads the data segments of a core module.
func dataSegments(wasm []byte) ([]segment, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) {
		return nil, errors.New("not a WebAssembly module")
	}
	if !bytes.Equal(wasm[4:8], []byte{1, 0, 0, 0}) {
		return nil, fmt.Errorf("WebAssembly binary version % x is not a core module's", wasm[4:8])
	}
	r := &reader{b: wasm, off: 8}
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.uleb(32)
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		body, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		if id == sectionData {
			segs, err := readData(&reader{b: body})
			if err != nil {
				return nil, fmt.Errorf("data section: %w", err)
			}
			return segs, nil
		}
	}
	return nil, nil
}

func readData(r *reader) ([]segment, error) {
	count, err := r.uleb(32)
	if err != nil {
		return nil, err
	}
	// Each segment takes at least 3 bytes: no more than that many.
	if count > uint64(len(r.b))/3+1 {
		return nil, fmt.Errorf("%d segments in %d bytes", count, len(r.b))
	}
	segs := make([]segment, 0, count)
	for i := range int(count) {
		s := segment{index: i}
		mode, err := r.uleb(32)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		switch mode {
		case 0, 2: // active: memory 0, or an explicit memory
			mem := uint64(0)
			if mode == 2 {
				if mem, err = r.uleb(32); err != nil {
					return nil, fmt.Errorf("segment %d: %w", i, err)
				}
			}
			addr, known, err := constExpr(r)
			if err != nil {
				return nil, fmt.Errorf("segment %d offset: %w", i, err)
			}
			s.placed, s.addr = known && mem == 0, addr
		case 1: // passive
		default:
			return nil, fmt.Errorf("segment %d: unknown mode %d", i, mode)
		}
		n, err := r.uleb(32)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		if s.data, err = r.bytes(n); err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		segs = append(segs, s)
	}
	return segs, nil
}

// constExpr evaluates a constant expression: i32/i64 constants and the
// extended-const arithmetic; known is false when it reads a global, whose
// value is known only at instantiation.
func constExpr(r *reader) (value uint64, known bool, err error) {
	var stack []int64
	known = true
	pop2 := func() (int64, int64, error) {
		if len(stack) < 2 {
			return 0, 0, errors.New("stack underflow")
		}
		a, b := stack[len(stack)-2], stack[len(stack)-1]
		stack = stack[:len(stack)-2]
		return a, b, nil
	}
	for steps := 0; steps < 1024; steps++ {
		op, err := r.byte()
		if err != nil {
			return 0, false, err
		}
		switch op {
		case 0x0b: // end
			if len(stack) != 1 {
				return 0, false, errors.New("not one value")
			}
			return uint64(stack[0]), known, nil
		case 0x41, 0x42: // i32.const, i64.const
			bits := uint(32)
			if op == 0x42 {
				bits = 64
			}
			v, err := r.sleb(bits)
			if err != nil {
				return 0, false, err
			}
			if op == 0x41 {
				v = int64(uint32(v))
			}
			stack = append(stack, v)
		case 0x23: // global.get
			if _, err := r.uleb(32); err != nil {
				return 0, false, err
			}
			known = false
			stack = append(stack, 0)
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // i32/i64 add, sub, mul
			a, b, err := pop2()
			if err != nil {
				return 0, false, err
			}
			var v int64
			switch op {
			case 0x6a, 0x7c:
				v = a + b
			case 0x6b, 0x7d:
				v = a - b
			default:
				v = a * b
			}
			if op < 0x7c {
				v = int64(uint32(v))
			}
			stack = append(stack, v)
		default:
			return 0, false, fmt.Errorf("unsupported instruction 0x%02x in a constant expression", op)
		}
	}
	return 0, false, errors.New("constant expression too long")
}
