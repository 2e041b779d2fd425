package policy

import "testing"

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"", 0, true},
		{"65536", 65536, true},
		{"64MiB", 64 << 20, true},
		{"64mb", 64 << 20, true},
		{"512k", 512 << 10, true},
		{"1G", 1 << 30, true},
		{"2 GiB", 2 << 30, true},
		{"MiB", 0, false},
		{"1.5MiB", 0, false},
		{"10TB", 0, false},
		{"-1", 0, false},
		{"17179869184G", 0, false},
		{"256 MiB", 256 << 20, true},
	}
	for _, tt := range tests {
		got, err := ParseBytes(tt.in)
		if uint64(got) != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
