// Command embed shows the host package as a platform would use it: one
// runtime, two guests started from it, their output merged line by line
// with a prefix, one of them paused for a second, and both terminated on
// Ctrl-C (every BPF object they loaded leaves the kernel).
//
//	go run ./examples/embed examples/bootstrap/bootstrap.wasm examples/execve/execve.wasm
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: embed GUEST1.wasm GUEST2.wasm")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	var out sync.Mutex // one line at a time on stdout
	var insts []*host.Instance
	var copies sync.WaitGroup
	for i, path := range os.Args[1:] {
		wasm, err := os.ReadFile(path)
		if err != nil {
			log.Fatal(err)
		}
		prefix := fmt.Sprintf("[%d %s] ", i+1, filepath.Base(path))
		r, w := io.Pipe()
		copies.Add(1)
		go func() {
			defer copies.Done()
			prefixLines(&out, prefix, r)
		}()
		inst, err := rt.Start(ctx, wasm, host.Config{
			Args:   []string{path},
			Stdout: w,
			Stderr: w,
			// A plug-in gets bounds: memory, loaded objects, attachments,
			// the kernel memory of its maps.
			MaxMemory:    256 << 20,
			MaxObjects:   4,
			MaxLinks:     16,
			MaxMapMemory: 64 << 20,
		})
		if err != nil {
			log.Fatalf("%s: %v", path, err)
		}
		insts = append(insts, inst)
		copies.Add(1) // the line that says how it ended is output too
		go func() {
			defer copies.Done()
			code, err := inst.Wait()
			w.Close()
			out.Lock()
			fmt.Printf("%sended: exit code %d, %v\n", prefix, code, err)
			out.Unlock()
		}()
	}

	// Pause the first guest for a second, as an agent might while it
	// reconfigures; its records wait in the kernel meanwhile.
	time.Sleep(2 * time.Second)
	announce(&out, "pausing guest 1 for a second")
	insts[0].Pause()
	time.Sleep(time.Second)
	insts[0].Resume()
	announce(&out, "resumed guest 1")

	<-ctx.Done() // Ctrl-C or SIGTERM: the context stops both guests
	for _, inst := range insts {
		inst.Wait()
	}
	copies.Wait()
}

func prefixLines(mu *sync.Mutex, prefix string, r io.Reader) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		mu.Lock()
		fmt.Println(prefix + s.Text())
		mu.Unlock()
	}
}

func announce(mu *sync.Mutex, msg string) {
	mu.Lock()
	defer mu.Unlock()
	fmt.Println("[embed] " + msg)
}
