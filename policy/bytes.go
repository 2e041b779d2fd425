package policy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ParseBytes reads sizes such as "64MiB", "512k", "1G", "256 MiB" or
// "65536" (bytes); "" is 0. Both binary (KiB) and bare
// (K, KB) suffixes mean powers of 1024, as memory sizes are usually meant.
func ParseBytes(s string) (Bytes, error) {
	if s == "" {
		return 0, nil
	}
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToLower(strings.TrimSpace(s[len(num):]))
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: want a number with an optional unit (KiB, MiB, GiB)", s)
	}
	var shift uint
	switch unit {
	case "", "b":
	case "k", "kb", "kib":
		shift = 10
	case "m", "mb", "mib":
		shift = 20
	case "g", "gb", "gib":
		shift = 30
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	if n > (1<<64-1)>>shift {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Bytes(n << shift), nil
}

// UnmarshalJSON reads a number of bytes or a string that ParseBytes reads,
// so that files can say maxMemory: 64MiB.
func (b *Bytes) UnmarshalJSON(data []byte) error {
	var n uint64
	if err := json.Unmarshal(data, &n); err == nil {
		*b = Bytes(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("size: want a number of bytes or a string such as \"64MiB\"")
	}
	v, err := ParseBytes(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Flag writes b as ParseBytes reads it, in the largest unit that divides
// it: "1GiB", "256MiB", "4096" (a flag's default, a file's value).
func (b Bytes) Flag() string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if b != 0 && b&(1<<u.shift-1) == 0 {
			return strconv.FormatUint(uint64(b)>>u.shift, 10) + u.name
		}
	}
	return strconv.FormatUint(uint64(b), 10)
}
