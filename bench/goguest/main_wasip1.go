// Command goguest is bench.bpf.o's consumer as a Go guest, on the Go SDK
// (the batched poll), measuring what native.c and guest.c measure, the
// same way (see ../stats.h).
//
//	guest-go.wasm ring|perf TGID N | guest-go.wasm maps OPS
package main

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"time"
	"unsafe"

	"github.com/wasm-bpf/wasm-bpf/sdk/go/wasmbpf"
)

//go:embed bench.bpf.o
var object []byte

//go:wasmimport wasi_snapshot_preview1 clock_time_get
func clockTimeGet(id uint32, precision uint64, out unsafe.Pointer) uint32

// monoNs is CLOCK_MONOTONIC, the clock of the records' stamps.
func monoNs() uint64 {
	var t uint64
	clockTimeGet(1, 1, unsafe.Pointer(&t))
	return t
}

const histUs = 100_000

type stats struct {
	want, received, seqNext, gaps, lastNs uint64
	pending                               []uint64
	hist                                  [histUs + 1]uint32
}

func (s *stats) record(rec []byte) {
	if len(rec) < 64 {
		return
	}
	ts, seq := binary.LittleEndian.Uint64(rec), binary.LittleEndian.Uint64(rec[8:])
	if seq != s.seqNext {
		s.gaps++
	}
	s.seqNext = seq + 1
	s.pending = append(s.pending, ts)
	if len(s.pending) == cap(s.pending) {
		s.flush()
	}
}

func (s *stats) flush() {
	if len(s.pending) == 0 {
		return
	}
	now := monoNs()
	for _, ts := range s.pending {
		var us uint64
		if now > ts {
			us = (now - ts) / 1000
		}
		s.hist[min(us, histUs)]++
	}
	s.received += uint64(len(s.pending))
	s.pending = s.pending[:0]
	s.lastNs = now
}

func (s *stats) percentile(p float64) int {
	need, seen := uint64(p*float64(s.received)), uint64(0)
	for us, n := range s.hist {
		if seen += uint64(n); seen > need {
			return us
		}
	}
	return histUs
}

func (s *stats) done(start uint64) bool {
	now := monoNs()
	switch {
	case s.received >= s.want:
		return true
	case s.received > 0:
		return now-s.lastNs > uint64(time.Second)
	}
	return now-start > uint64(10*time.Second)
}

func die(what string, err error) {
	fmt.Fprintf(os.Stderr, "goguest: %s: %v\n", what, err)
	os.Exit(1)
}

func maps(obj *wasmbpf.Object, ops int) {
	kv, err := obj.Map("kv")
	if err != nil {
		die("map", err)
	}
	m := wasmbpf.MapOf[uint32, uint64](kv)
	if err := m.Update(7, 1, 0); err != nil {
		die("update", err)
	}
	t0 := monoNs()
	for i := 0; i < ops; i++ {
		if _, err := m.Lookup(7); err != nil {
			die("lookup", err)
		}
	}
	t1 := monoNs()
	for i := 0; i < ops; i++ {
		if err := m.Update(7, uint64(i), 0); err != nil {
			die("update", err)
		}
	}
	t2 := monoNs()
	fmt.Printf("maps lookup_ns=%.1f update_ns=%.1f\n", float64(t1-t0)/float64(ops), float64(t2-t1)/float64(ops))
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: guest-go ring|perf TGID N | guest-go maps OPS")
		os.Exit(2)
	}
	obj, err := wasmbpf.Load(object)
	if err != nil {
		die("load", err)
	}
	defer obj.Close()
	if os.Args[1] == "maps" {
		ops, _ := strconv.Atoi(os.Args[2])
		maps(obj, ops)
		return
	}
	perf := os.Args[1] == "perf"
	tgid, _ := strconv.ParseUint(os.Args[2], 10, 32)
	want, _ := strconv.ParseUint(os.Args[3], 10, 64)
	target, err := obj.Map("target")
	if err != nil {
		die("map", err)
	}
	if err := wasmbpf.MapOf[uint32, uint32](target).Update(0, uint32(tgid), 0); err != nil {
		die("set target", err)
	}
	prog, name := "on_getppid_rb", "rb"
	if perf {
		prog, name = "on_getppid_pb", "pb"
	}
	if err := obj.Attach(prog, ""); err != nil {
		die("attach", err)
	}
	var rd *wasmbpf.Reader
	if perf {
		rd, err = obj.PerfBuffer(name)
	} else {
		rd, err = obj.RingBuffer(name)
	}
	if err != nil {
		die("buffer", err)
	}
	s := &stats{want: want, pending: make([]uint64, 0, 65536)}
	record := func(rec []byte) error { s.record(rec); return nil }
	// The first poll creates the host's consumer: a perf buffer drops what
	// is written before its per-CPU rings exist.
	rd.Poll(0, record)
	fmt.Println("ready")
	start := monoNs()
	for !s.done(start) {
		if _, err := rd.Poll(100*time.Millisecond, record); err != nil {
			die("poll", err)
		}
		s.flush()
	}
	fmt.Printf("result received=%d gaps=%d last_ns=%d p50_us=%d p99_us=%d\n",
		s.received, s.gaps, s.lastNs, s.percentile(0.50), s.percentile(0.99))
}
