package wasmbpf

// Bitfields are stored in the bytes of their struct as the BPF target
// lays them out, little endian: bit i of a run is bit i%8 of its byte
// i/8. `wasm-bpf gen go` writes a run as a byte array and, for a named
// struct, a getter and a setter per bitfield that call these.

// Bitfield returns the width bits (at most 64) at bit off of b.
func Bitfield(b []byte, off, width uint) uint64 {
	var v uint64
	for i := uint(0); i < width; i++ {
		bit := off + i
		v |= uint64(b[bit/8]>>(bit%8)&1) << i
	}
	return v
}

// SignedBitfield is Bitfield sign-extended: the field's top bit is its
// sign.
func SignedBitfield(b []byte, off, width uint) int64 {
	if width == 0 {
		return 0
	}
	shift := 64 - width
	return int64(Bitfield(b, off, width)<<shift) >> shift
}

// SetBitfield stores the low width bits of v at bit off of b.
func SetBitfield(b []byte, off, width uint, v uint64) {
	for i := uint(0); i < width; i++ {
		bit := off + i
		if v>>i&1 != 0 {
			b[bit/8] |= 1 << (bit % 8)
		} else {
			b[bit/8] &^= 1 << (bit % 8)
		}
	}
}
