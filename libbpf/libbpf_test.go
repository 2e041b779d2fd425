package libbpf

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"syscall"
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

func TestOpenRejectsNonBPF(t *testing.T) {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	// A BPF ELF header whose section table points past the end of the file.
	bpfHeader := append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 57)...)
	binary.LittleEndian.PutUint16(bpfHeader[16:], uint16(elf.ET_REL))
	binary.LittleEndian.PutUint16(bpfHeader[18:], uint16(elf.EM_BPF))
	binary.LittleEndian.PutUint32(bpfHeader[20:], 1)
	binary.LittleEndian.PutUint64(bpfHeader[40:], 1<<20) // e_shoff
	binary.LittleEndian.PutUint16(bpfHeader[52:], 64)    // e_ehsize
	binary.LittleEndian.PutUint16(bpfHeader[58:], 64)    // e_shentsize
	binary.LittleEndian.PutUint16(bpfHeader[60:], 3)     // e_shnum
	tests := []struct {
		name string
		buf  []byte
		want string
	}{
		{"empty", nil, "empty object"},
		{"text", []byte("not an ELF file at all"), "bad magic"},
		{"zeros", make([]byte, 64), "bad magic"},
		{"host executable", self, "not a BPF relocatable object"},
		{"sections past the end", bpfHeader, "open \"t\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Open("t", tt.buf, OpenOptions{})
			if err == nil {
				o.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("Open: %v; want %q and EINVAL", err, tt.want)
			}
		})
	}
}

// libbpf's advice to raise RLIMIT_MEMLOCK, which it gives with any EPERM,
// is marked as not the cause on kernels that charge BPF memory to the
// memory cgroup (5.11 and later), and left alone on older ones.
func TestMemlockHint(t *testing.T) {
	const hint = "libbpf: permission error while running as root; try raising 'ulimit -l'? current value: 8.0 MiB"
	for _, tt := range []struct {
		release string
		marked  bool
	}{{"6.18.44-fc-v857", true}, {"5.11.0", true}, {"5.10.200", false}, {"4.19.0", false}, {"garbage", false}} {
		got := memlockHint(hint, tt.release)
		if marked := strings.HasPrefix(got, hint+" [wasm-bpf: not the cause: Linux "+tt.release+" charges BPF memory to the memory cgroup"); marked != tt.marked || !tt.marked && got != hint {
			t.Errorf("%s: %q", tt.release, got)
		}
	}
	if got := correctMemlockHint("libbpf: loading object 'x' from buffer"); got != "libbpf: loading object 'x' from buffer" {
		t.Errorf("another message changed: %q", got)
	}
}
