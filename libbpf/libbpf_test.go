package libbpf

import (
	"encoding/binary"
	"testing"
)

func TestMapTypePerCPU(t *testing.T) {
	tests := []struct {
		typ    MapType
		name   string
		perCPU bool
	}{
		{MapTypeHash, "hash", false},
		{MapTypeArray, "array", false},
		{MapTypeRingBuf, "ringbuf", false},
		{MapTypePerfEventArray, "perf_event_array", false},
		{5, "percpu_hash", true},
		{6, "percpu_array", true},
		{10, "lru_percpu_hash", true},
		{21, "percpu_cgroup_storage", true},
	}
	for _, tt := range tests {
		if got := tt.typ.String(); got != tt.name {
			t.Errorf("MapType(%d).String() = %q, want %q", tt.typ, got, tt.name)
		}
		if got := tt.typ.PerCPU(); got != tt.perCPU {
			t.Errorf("%s.PerCPU() = %v, want %v", tt.name, got, tt.perCPU)
		}
	}
	if got := MapType(1 << 30).String(); got != "map_type(1073741824)" {
		t.Errorf("unknown map type String() = %q", got)
	}
}

func TestProgTypeIsCgroup(t *testing.T) {
	tests := []struct {
		typ    ProgType
		name   string
		cgroup bool
	}{
		{ProgTypeSocketFilter, "socket_filter", false},
		{ProgTypeXDP, "xdp", false},
		{ProgTypeSockOps, "sock_ops", true},
		{ProgTypeCgroupSKB, "cgroup_skb", true},
		{ProgTypeCgroupSockAddr, "cgroup_sock_addr", true},
		{5, "tracepoint", false},
	}
	for _, tt := range tests {
		if got := tt.typ.String(); got != tt.name {
			t.Errorf("ProgType(%d).String() = %q, want %q", tt.typ, got, tt.name)
		}
		if got := tt.typ.IsCgroup(); got != tt.cgroup {
			t.Errorf("%s.IsCgroup() = %v, want %v", tt.name, got, tt.cgroup)
		}
	}
}

func TestHtons(t *testing.T) {
	var b [2]byte
	// Stored as the host stores it, network order puts the high byte first.
	binary.NativeEndian.PutUint16(b[:], htons(0x0003))
	if b != [2]byte{0x00, 0x03} {
		t.Fatalf("htons(3) stored as % x", b)
	}
}

func TestOpenRejectsGarbage(t *testing.T) {
	for _, buf := range [][]byte{nil, []byte("not an ELF file at all"), make([]byte, 64)} {
		if o, err := Open("garbage", buf); err == nil {
			o.Close()
			t.Errorf("Open(%q) succeeded", buf)
		}
	}
}
