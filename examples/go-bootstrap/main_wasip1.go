// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// go-bootstrap traces process starts and exits (libbpf-bootstrap's
// bootstrap, in Go, on the kernel half of ../bootstrap). With -d MS it
// reports only exits of processes that lived at least MS milliseconds: the
// BPF side filters on its .rodata constant min_duration_ns, which is set
// in the object's bytes before load.
package main

import (
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/wasm-bpf/wasm-bpf/sdk/go/wasmbpf"
)

//go:embed bootstrap.bpf.o
var object []byte

func main() {
	minDuration := flag.Uint64("d", 0, "minimum process duration (ms) to report")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*minDuration * uint64(time.Millisecond)); err != nil {
		fmt.Fprintln(os.Stderr, "go-bootstrap:", err)
		os.Exit(1)
	}
}

func run(minDurationNs uint64) error {
	// MinDurationNs (written by wasm-bpf gen go) is the .rodata constant.
	obj, err := wasmbpf.Load(object, MinDurationNs.Set(minDurationNs))
	if err != nil {
		return err
	}
	defer obj.Close()
	// handle_exec and handle_exit, as their sections say (gen go).
	if err := AttachPrograms(obj); err != nil {
		return err
	}
	rd, err := obj.RingBuffer("rb")
	if err != nil {
		return err
	}
	out := make([]byte, 0, 512)
	handle := func(rec []byte) error {
		if len(rec) < SizeofEvent {
			return fmt.Errorf("short record: %d bytes, want %d", len(rec), SizeofEvent)
		}
		e := DecodeEvent(rec)
		// WASI has no time zone database: the time is UTC.
		out = time.Now().UTC().AppendFormat(out[:0], "15:04:05")
		if e.ExitEvent != 0 {
			out = fmt.Appendf(out, " %-5s %-16s %-7d %-7d [%d]", "EXIT", wasmbpf.CBytes(e.Comm[:]), e.Pid, e.Ppid, e.ExitCode)
			if e.DurationNs != 0 {
				out = fmt.Appendf(out, " (%dms)", e.DurationNs/uint64(time.Millisecond))
			}
			out = append(out, '\n')
		} else {
			out = fmt.Appendf(out, " %-5s %-16s %-7d %-7d %s\n", "EXEC", wasmbpf.CBytes(e.Comm[:]), e.Pid, e.Ppid, wasmbpf.CBytes(e.Filename[:]))
		}
		_, err := os.Stdout.Write(out)
		return err
	}
	fmt.Printf("%-8s %-5s %-16s %-7s %-7s %s\n", "TIME", "EVENT", "COMM", "PID", "PPID", "FILENAME/EXIT CODE")
	for {
		if _, err := rd.Poll(100*time.Millisecond, handle); err != nil {
			if errors.Is(err, syscall.EINTR) {
				return nil
			}
			return err
		}
	}
}
