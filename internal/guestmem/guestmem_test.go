package guestmem

import (
	"bytes"
	"strings"
	"testing"
)

func TestSlice(t *testing.T) {
	mem := Memory(make([]byte, 100))
	tests := []struct {
		name      string
		ptr, size uint32
		ok        bool
	}{
		{"whole", 0, 100, true},
		{"empty at start", 0, 0, true},
		{"empty at end", 100, 0, true},
		{"last byte", 99, 1, true},
		{"one past end", 99, 2, false},
		{"start past end", 101, 0, false},
		{"huge size", 1, 0xffffffff, false},
		{"wraps u32", 0xffffffff, 2, false},
		{"max both", 0xffffffff, 0xffffffff, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := mem.Slice(tt.ptr, tt.size)
			if ok != tt.ok {
				t.Fatalf("slice(%d, %d) ok = %v, want %v", tt.ptr, tt.size, ok, tt.ok)
			}
			if ok && (len(b) != int(tt.size) || cap(b) != int(tt.size)) {
				t.Fatalf("slice(%d, %d): len %d cap %d", tt.ptr, tt.size, len(b), cap(b))
			}
		})
	}
}

func TestCString(t *testing.T) {
	mem := Memory(append([]byte("abc\x00xyz\x00"), bytes.Repeat([]byte{'A'}, 8)...))
	long := Memory(append(bytes.Repeat([]byte{'b'}, MaxString), 0))
	tests := []struct {
		name string
		mem  Memory
		ptr  uint32
		want string
		ok   bool
	}{
		{"first", mem, 0, "abc", true},
		{"middle", mem, 1, "bc", true},
		{"empty", mem, 3, "", true},
		{"second", mem, 4, "xyz", true},
		{"unterminated at end", mem, 8, "", false},
		{"last byte", mem, uint32(len(mem) - 1), "", false},
		{"past end", mem, uint32(len(mem)), "", false},
		{"far past end", mem, 0xffffffff, "", false},
		{"longer than MaxString", long, 0, "", false},
		{"exactly under MaxString", long, 1, strings.Repeat("b", MaxString-1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.mem.CString(tt.ptr)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("cstring(%d) = %q, %v; want %q, %v", tt.ptr, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzMemory checks the translation never panics and never yields bytes
// outside the memory it was given.
func FuzzMemory(f *testing.F) {
	f.Add(uint32(0), uint32(0), uint16(0), []byte{})
	f.Add(uint32(10), uint32(5), uint16(3), []byte("hello\x00world"))
	f.Add(uint32(0xfffffff0), uint32(0x20), uint16(64), []byte("x"))
	f.Fuzz(func(t *testing.T, ptr, size uint32, extra uint16, data []byte) {
		// Over-allocate so a slice that escaped its bounds would be visible
		// through cap, not only through a panic.
		backing := append(append([]byte{}, data...), make([]byte, int(extra))...)
		mem := Memory(backing[:len(data)])
		if b, ok := mem.Slice(ptr, size); ok {
			if uint64(ptr)+uint64(size) > uint64(len(mem)) {
				t.Fatalf("slice(%d, %d) accepted beyond len %d", ptr, size, len(mem))
			}
			if len(b) != int(size) || cap(b) != int(size) {
				t.Fatalf("slice(%d, %d): len %d cap %d", ptr, size, len(b), cap(b))
			}
			if size > 0 && &b[0] != &mem[ptr] {
				t.Fatalf("slice(%d, %d) does not alias guest memory", ptr, size)
			}
		}
		if s, ok := mem.CString(ptr); ok {
			end := uint64(ptr) + uint64(len(s))
			if end >= uint64(len(mem)) || mem[end] != 0 || string(mem[ptr:end]) != s {
				t.Fatalf("cstring(%d) = %q does not match memory", ptr, s)
			}
			if len(s) >= MaxString {
				t.Fatalf("cstring(%d) longer than MaxString", ptr)
			}
		}
	})
}
