// Command density starts N copies of a guest (the bootstrap example, by
// default) in one host.Runtime, as an agent running many guests would, and
// prints how long it took until every copy was attached (had printed its
// first line) and the process's resident memory then:
//
//	density n=N attached_ms=MS rss_kb=KB
//
// bench/driver runs it for several N and prints the memory each added
// guest costs.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasm-bpf/wasm-bpf/host"
)

// firstLine is a guest's stdout: it reports the first line, then discards.
type firstLine struct {
	once sync.Once
	seen chan struct{}
}

func (f *firstLine) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, '\n') >= 0 {
		f.once.Do(func() { close(f.seen) })
	}
	return len(p), nil
}

func main() {
	n := flag.Int("n", 1, "copies of the guest")
	wasmPath := flag.String("wasm", "examples/bootstrap/bootstrap.wasm", "the guest")
	cacheDir := flag.String("cache", "", "compile cache directory (\"\": the default)")
	hold := flag.Duration("hold", 0, "keep the guests running this long after the measurement (to inspect the process)")
	flag.Parse()
	log.SetFlags(0)

	wasm, err := os.ReadFile(*wasmPath)
	if err != nil {
		log.Fatal(err)
	}
	dir := *cacheDir
	if dir == "" {
		if dir, err = host.DefaultCacheDir(); err != nil {
			log.Fatal(err)
		}
	}
	rt, err := host.NewRuntime(host.RuntimeConfig{CacheDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	var outs []*firstLine
	var insts []*host.Instance
	for i := 0; i < *n; i++ {
		out := &firstLine{seen: make(chan struct{})}
		inst, err := rt.Start(ctx, wasm, host.Config{
			Args:   []string{*wasmPath},
			Stdout: out,
			Stderr: os.Stderr,
		})
		if err != nil {
			log.Fatalf("guest %d: %v", i, err)
		}
		outs, insts = append(outs, out), append(insts, inst)
	}
	for i, out := range outs {
		select {
		case <-out.seen:
		case <-insts[i].Done():
			code, err := insts[i].Wait()
			log.Fatalf("guest %d ended (exit code %d, %v) before it attached", i, code, err)
		}
	}
	attached := time.Since(start)
	fmt.Printf("density n=%d attached_ms=%.1f rss_kb=%d\n", *n, float64(attached.Microseconds())/1000, rssKB())
	time.Sleep(*hold)
	cancel()
	for _, inst := range insts {
		inst.Wait()
	}
}

// rssKB is the process's resident set now (VmRSS).
func rssKB() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(io.Reader(f))
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}
