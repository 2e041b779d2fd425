// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// go-execve prints each execve on the machine: PID, PPID, UID, caller,
// path. The execve example in Go, on the kernel half of ../execve.
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/wasm-bpf/wasm-bpf/sdk/go/wasmbpf"
)

//go:embed execve.bpf.o
var object []byte

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go-execve:", err)
		os.Exit(1)
	}
}

func run() error {
	obj, err := wasmbpf.Load(object)
	if err != nil {
		return err
	}
	defer obj.Close()
	if err := obj.Attach("handle_execve", ""); err != nil {
		return err
	}
	rd, err := obj.RingBuffer("events")
	if err != nil {
		return err
	}
	// One buffer for every line, and no fmt (its arguments are boxed
	// in interfaces): the per-event path allocates nothing.
	out := make([]byte, 0, 512)
	var num [20]byte
	print := func(rec []byte) error {
		e := DecodeExecveEvent(rec)
		out = column(out[:0], strconv.AppendInt(num[:0], int64(e.Pid), 10), 7)
		out = column(out, strconv.AppendInt(num[:0], int64(e.Ppid), 10), 7)
		out = column(out, strconv.AppendInt(num[:0], int64(e.Uid), 10), 6)
		out = column(out, wasmbpf.CBytes(e.Comm[:]), 16)
		out = append(append(out, wasmbpf.CBytes(e.Filename[:])...), '\n')
		_, err := os.Stdout.Write(out)
		return err
	}
	fmt.Printf("%-7s %-7s %-6s %-16s %s\n", "PID", "PPID", "UID", "COMM", "FILENAME")
	for {
		if _, err := rd.Poll(100*time.Millisecond, print); err != nil {
			if errors.Is(err, syscall.EINTR) {
				return nil
			}
			return err
		}
	}
}

// column appends field left-aligned in width columns and a space, as
// printf's "%-*s " does.
func column(out, field []byte, width int) []byte {
	out = append(out, field...)
	for i := len(field); i < width; i++ {
		out = append(out, ' ')
	}
	return append(out, ' ')
}
