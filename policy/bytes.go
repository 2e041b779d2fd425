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
