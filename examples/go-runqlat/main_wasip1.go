// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// go-runqlat [INTERVAL [COUNT]]: every INTERVAL seconds (default 1),
// prints the log2 histogram of run-queue latency that the BPF side of
// ../runqlat keeps in its hists map, then clears it; stops after COUNT
// intervals (default: never).
package main

import (
	_ "embed"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wasm-bpf/wasm-bpf/sdk/go/wasmbpf"
)

//go:embed runqlat.bpf.o
var object []byte

func main() {
	interval, count := 1, -1
	var err error
	args := os.Args[1:]
	if len(args) > 0 {
		if interval, err = strconv.Atoi(args[0]); err != nil || interval <= 0 {
			usage()
		}
	}
	if len(args) > 1 {
		if count, err = strconv.Atoi(args[1]); err != nil || count <= 0 {
			usage()
		}
	}
	if len(args) > 2 {
		usage()
	}
	if err := run(time.Duration(interval)*time.Second, count); err != nil {
		fmt.Fprintln(os.Stderr, "go-runqlat:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "Usage: %s [INTERVAL [COUNT]]\n", os.Args[0])
	os.Exit(1)
}

func run(interval time.Duration, count int) error {
	obj, err := wasmbpf.Load(object)
	if err != nil {
		return err
	}
	defer obj.Close()
	if err := AttachPrograms(obj); err != nil { // the three tp_btf hooks
		return err
	}
	// Written by wasm-bpf gen go: typed views of the hists and .bss maps.
	hists, err := OpenHists(obj)
	if err != nil {
		return err
	}
	bss, err := OpenBss(obj)
	if err != nil {
		return err
	}
	fmt.Println("Tracing run queue latency... Hit Ctrl-C to end.")
	for ; count != 0; count-- {
		time.Sleep(interval)
		var total Hist
		// hists is an array of one histogram; summing over All would
		// serve as well for a map of one histogram per key.
		for _, h := range hists.All() {
			for i, v := range h.Slots {
				total.Slots[i] += v
			}
		}
		if err := hists.Err(); err != nil {
			return err
		}
		globals, err := bss.Lookup(0)
		if err != nil {
			return err
		}
		fmt.Println()
		printLog2Hist(total.Slots[:], "usecs")
		fmt.Printf("total samples: %d\n", globals.TotalSamples)
		for k := range hists.All() {
			if err := hists.Update(k, Hist{}, wasmbpf.UpdateAny); err != nil {
				return err
			}
		}
		if err := hists.Err(); err != nil {
			return err
		}
	}
	return nil
}

// printLog2Hist is bcc's print_log2_hist.
func printLog2Hist(vals []uint32, valType string) {
	idxMax, valMax := -1, uint32(0)
	for i, v := range vals {
		if v > 0 {
			idxMax = i
		}
		valMax = max(valMax, v)
	}
	if idxMax < 0 {
		return
	}
	fmt.Printf("%5s%-19s : count    distribution\n", "", valType)
	for i := 0; i <= idxMax; i++ {
		low, high := (uint64(1)<<(i+1))>>1, (uint64(1)<<(i+1))-1
		if low == high {
			low--
		}
		stars := 0
		if valMax > 0 {
			stars = int(uint64(vals[i]) * 40 / uint64(valMax))
		}
		fmt.Printf("%10d -> %-10d : %-8d |%s|\n", low, high, vals[i], strings.Repeat("*", stars))
	}
}
