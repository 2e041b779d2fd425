package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSize reads sizes such as "64MiB", "512k", "1G" or "65536" (bytes);
// "" is 0. Both binary (KiB) and bare (K, KB) suffixes mean powers of 1024,
// as memory sizes are usually meant.
func parseSize(s string) (uint64, error) {
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
	return n << shift, nil
}
