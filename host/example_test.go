package host_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/host"
)

// helloGuest is a tiny WASI command; a real guest is a C or Go program
// built for wasm32-wasi that loads BPF objects through the host ABI.
func helloGuest() []byte {
	wasm, err := wasmtime.Wat2Wasm(`(module
	  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
	  (memory (export "memory") 1)
	  (data (i32.const 16) "hello from the guest\n")
	  (func (export "_start")
	    (i32.store (i32.const 0) (i32.const 16))
	    (i32.store (i32.const 4) (i32.const 21))
	    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`)
	if err != nil {
		log.Fatal(err)
	}
	return wasm
}

// Run a guest to the end, as the wasm-bpf CLI does.
func ExampleRun() {
	code, err := host.Run(context.Background(), helloGuest(), host.Config{
		Args:   []string{"hello.wasm"},
		Stdout: os.Stdout,
	})
	fmt.Println("exit code", code, "error", err)
	// Output:
	// hello from the guest
	// exit code 0 error <nil>
}

// Start several guests from one runtime, bound them, and stop one from
// outside.
func ExampleRuntime_Start() {
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	inst, err := rt.Start(context.Background(), helloGuest(), host.Config{
		Args:       []string{"hello.wasm"},
		Stdout:     os.Stdout,
		MaxMemory:  64 << 20,         // memory.grow beyond 64 MiB fails in the guest
		CPULimit:   10 * time.Second, // then Wait reports host.ErrCPULimit
		MaxObjects: 4,                // BPF objects open at once
		MaxLinks:   16,               // programs attached at once
	})
	if err != nil {
		log.Fatal(err) // not Wasm, no _start, an import nobody provides, ...
	}
	code, err := inst.Wait()
	fmt.Println("exit code", code, "error", err)
	// Output:
	// hello from the guest
	// exit code 0 error <nil>
}

// Pause a guest (its Wasm code and its event delivery), resume it, and
// terminate it; every BPF object it loaded leaves the kernel.
func ExampleInstance_Terminate() {
	rt, err := host.NewRuntime(host.RuntimeConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	spin, _ := wasmtime.Wat2Wasm(`(module (memory (export "memory") 1) (func (export "_start") (loop br 0)))`)
	inst, err := rt.Start(context.Background(), spin, host.Config{})
	if err != nil {
		log.Fatal(err)
	}
	inst.Pause()
	inst.Resume()
	inst.Terminate()
	_, err = inst.Wait()
	fmt.Println(err)
	// Output:
	// guest stopped: guest terminated
}
