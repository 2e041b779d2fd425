// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// go-lsm NAME [SECONDS]: while it runs (SECONDS, default until stopped),
// no directory named NAME can be removed: rmdir fails with EPERM. The lsm
// example in Go, on the kernel half of ../lsm.
package main

import (
	_ "embed"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/wasm-bpf/wasm-bpf/sdk/go/wasmbpf"
)

//go:embed lsm.bpf.o
var object []byte

func main() {
	var name [64]byte // the C side's char target_name[64]
	seconds := -1
	args := os.Args[1:]
	ok := len(args) == 1 || len(args) == 2
	if ok {
		ok = args[0] != "" && len(args[0]) < len(name)
	}
	if ok && len(args) == 2 {
		n, err := strconv.Atoi(args[1])
		seconds, ok = n, err == nil && n > 0
	}
	if !ok {
		fmt.Fprintf(os.Stderr, "Usage: %s NAME [SECONDS]\n", os.Args[0])
		os.Exit(1)
	}
	copy(name[:], args[0])

	obj, err := wasmbpf.Load(object, TargetName.Set(name))
	if err != nil {
		// The error says why, in the runtime's words.
		fmt.Fprintln(os.Stderr, "go-lsm:", err)
		os.Exit(1)
	}
	defer obj.Close()
	if err := obj.Attach("restrict_rmdir", ""); err != nil {
		fmt.Fprintln(os.Stderr, "go-lsm:", err)
		obj.Close()
		os.Exit(1)
	}
	fmt.Printf("Denying rmdir of directories named %s\n", args[0])
	for ; seconds != 0; seconds-- {
		time.Sleep(time.Second)
	}
	bss, err := OpenBss(obj)
	if err == nil {
		var g Bss
		if g, err = bss.Lookup(0); err == nil {
			fmt.Printf("denied %d rmdir(s)\n", g.Denied)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-lsm:", err)
		obj.Close()
		os.Exit(1)
	}
}
