// Command driver runs the wasm-bpf benchmark (scripts/bench.sh builds what
// it needs and calls it): the same BPF program (bench.bpf.c, one record
// per getppid() of this process) consumed by a native libbpf program, the
// baseline, and by wasm-bpf guests, one after another, each figure printed
// with its ratio to the baseline.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// consumer is one way of reading the records.
type consumer struct {
	name string
	argv []string // the command; mode, tgid and count are appended
	env  []string
}

// result is what one run measured.
type result struct {
	sent, received  int
	rate            float64 // records/s delivered: received over the time from the first record sent to the last received
	cpuPerM         float64 // user+sys seconds of the consumer per million records
	p50, p99        int     // delivery latency, µs
	rssKB           int64
	kernelFiredRate float64 // records/s the generator achieved
}

func main() {
	dir := flag.String("dir", "bench", "directory holding native, guest-*.wasm and bench.bpf.o")
	wasmBPF := flag.String("runtime", "./wasm-bpf", "the wasm-bpf binary")
	n := flag.Int("n", 500_000, "records per run")
	rates := flag.String("rates", "1000000,500000,250000,100000", "paced rates to try, highest first: the comparison runs at the highest the baseline holds without loss")
	bootstrap := flag.String("bootstrap", "examples/bootstrap/bootstrap.wasm", "bootstrap example, for start-up and RSS (\"\" to skip)")
	mapOps := flag.Int("map-ops", 1_000_000, "map operations per map benchmark")
	flag.Parse()
	log.SetFlags(0)

	obj, _ := filepath.Abs(filepath.Join(*dir, "bench.bpf.o"))
	native := consumer{"native libbpf (C)", []string{filepath.Join(*dir, "native")}, []string{"BENCH_OBJ=" + obj}}
	consumers := []consumer{
		native,
		{"wasm-bpf C guest, batched poll", []string{*wasmBPF, filepath.Join(*dir, "guest-batch.wasm")}, nil},
		{"wasm-bpf C guest, classic callback", []string{*wasmBPF, filepath.Join(*dir, "guest-classic.wasm")}, nil},
	}
	if _, err := os.Stat(filepath.Join(*dir, "guest-go.wasm")); err == nil {
		consumers = append(consumers, consumer{"wasm-bpf Go guest", []string{*wasmBPF, filepath.Join(*dir, "guest-go.wasm")}, nil})
	}

	cpu := cpuModel()
	fmt.Printf("# wasm-bpf benchmark, %s\n\n", time.Now().Format("2006-01-02 15:04 MST"))
	fmt.Printf("CPU: %s (%d cores); kernel %s; %d records of 64 bytes per run\n", cpu, runtime.NumCPU(), kernelRelease(), *n)

	for _, kind := range []string{"ring", "perf"} {
		// The highest paced rate the baseline holds without loss, and
		// that the generator really reaches beside it.
		var lossless float64
		for _, f := range strings.Split(*rates, ",") {
			r, _ := strconv.ParseFloat(f, 64)
			if res := run(native, kind, *n, r); res.received == res.sent && res.kernelFiredRate >= 0.95*r {
				lossless = r
				break
			}
		}
		for _, at := range []struct {
			title string
			rate  float64
		}{
			{"as fast as the generator goes (the generator shares 2 cores with the consumer: a consumer that uses less CPU lets it go faster)", 0},
			{fmt.Sprintf("paced at %.0f records/s, the highest rate tried that the generator reached and the baseline held without loss", lossless), lossless},
		} {
			if at.rate == 0 && at.title[0] == 'p' {
				continue // the baseline held no paced rate
			}
			fmt.Printf("\n## %s buffer, %s\n\n", kind, at.title)
			fmt.Println("| consumer | records/s | ratio | lost | CPU s per 1M | ratio | p50 µs | p99 µs | peak RSS MB | ratio |")
			fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
			var base result
			for i, c := range consumers {
				res := run(c, kind, *n, at.rate)
				if i == 0 {
					base = res
				}
				fmt.Printf("| %s | %.0f | %s | %d | %.2f | %s | %d | %d | %.1f | %s |\n", c.name, res.rate, ratio(res.rate, base.rate),
					res.sent-res.received, res.cpuPerM, ratio(res.cpuPerM, base.cpuPerM), res.p50, res.p99,
					float64(res.rssKB)/1024, ratio(float64(res.rssKB), float64(base.rssKB)))
			}
		}
	}

	fmt.Printf("\n## map operations (%d each, one hash map key)\n\n", *mapOps)
	fmt.Println("| consumer | lookup ns/op | ratio | update ns/op | ratio |")
	fmt.Println("|---|---|---|---|---|")
	var baseL, baseU float64
	for i, c := range consumers {
		if strings.Contains(c.name, "classic") {
			continue // the same map calls as the batched C guest
		}
		l, u := mapBench(c, *mapOps)
		if i == 0 {
			baseL, baseU = l, u
		}
		fmt.Printf("| %s | %.0f | %s | %.0f | %s |\n", strings.TrimSuffix(c.name, ", batched poll"), l, ratio(l, baseL), u, ratio(u, baseU))
	}

	fmt.Println("\n## start-up (exec to first program attached; median of 7)")
	fmt.Println()
	fmt.Println("| what | ms |")
	fmt.Println("|---|---|")
	fmt.Printf("| native libbpf consumer | %.1f |\n", startup(native.argv, native.env, false))
	guest := filepath.Join(*dir, "guest-batch.wasm")
	fmt.Printf("| wasm-bpf bench guest, no compile cache | %.1f |\n", startup([]string{*wasmBPF, "--no-cache", guest}, nil, true))
	fmt.Printf("| wasm-bpf bench guest, warm compile cache | %.1f |\n", startup([]string{*wasmBPF, guest}, nil, true))
	if *bootstrap != "" {
		fmt.Printf("| wasm-bpf bootstrap example, no compile cache | %.1f |\n", startup([]string{*wasmBPF, "--no-cache", *bootstrap}, nil, false))
		fmt.Printf("| wasm-bpf bootstrap example, warm compile cache | %.1f |\n", startup([]string{*wasmBPF, *bootstrap}, nil, false))
		fmt.Printf("\nbootstrap example peak RSS: %.1f MB (running 2 s while 200 processes start)\n", float64(bootstrapRSS(*wasmBPF, *bootstrap))/1024)
	}
}

func ratio(v, base float64) string {
	if base == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v/base)
}

// run starts c, fires n records at rate (0: unpaced) once it is ready, and
// collects its result line and resource usage.
func run(c consumer, kind string, n int, rate float64) result {
	cmd := exec.Command(c.argv[0], append(c.argv[1:], kind, strconv.Itoa(os.Getpid()), strconv.Itoa(n))...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatalf("%s: %v", c.name, err)
	}
	lines := bufio.NewScanner(out)
	if !waitLine(lines, "ready") {
		cmd.Process.Kill()
		cmd.Wait()
		log.Fatalf("%s: never ready", c.name)
	}
	start := time.Now()
	startMono := monotonic()
	fire(n, rate)
	fired := time.Since(start)
	var res result
	res.sent = n
	res.kernelFiredRate = float64(n) / fired.Seconds()
	for lines.Scan() {
		if f, ok := strings.CutPrefix(lines.Text(), "result "); ok {
			kv := fields(f)
			res.received = kv["received"]
			// Both clocks are CLOCK_MONOTONIC, the clock of the records' stamps.
			if last := int64(kv["last_ns"]); last > startMono {
				res.rate = float64(res.received) / (float64(last-startMono) / 1e9)
			}
			res.p50, res.p99 = kv["p50_us"], kv["p99_us"]
		}
	}
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		log.Fatalf("%s: %v", c.name, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if res.received > 0 {
		res.cpuPerM = cpu.Seconds() / float64(res.received) * 1e6
	}
	res.rssKB = ru.Maxrss
	return res
}

func monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func waitLine(s *bufio.Scanner, want string) bool {
	for s.Scan() {
		if s.Text() == want {
			return true
		}
	}
	return false
}

func fields(s string) map[string]int {
	m := map[string]int{}
	for _, f := range strings.Fields(s) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k], _ = strconv.Atoi(v)
		}
	}
	return m
}

// fire makes n getppid() calls, each one record, paced to rate per second
// (0: as fast as possible), from one OS thread of this process.
func fire(n int, rate float64) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	for i := 0; i < n; i++ {
		if rate > 0 {
			due := start.Add(time.Duration(float64(i) / rate * 1e9))
			for time.Now().Before(due) {
			}
		}
		syscall.Getppid()
	}
}

func mapBench(c consumer, ops int) (lookup, update float64) {
	cmd := exec.Command(c.argv[0], append(c.argv[1:], "maps", strconv.Itoa(ops))...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("%s maps: %v", c.name, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f, ok := strings.CutPrefix(l, "maps "); ok {
			for _, kv := range strings.Fields(f) {
				k, v, _ := strings.Cut(kv, "=")
				x, _ := strconv.ParseFloat(v, 64)
				switch k {
				case "lookup_ns":
					lookup = x
				case "update_ns":
					update = x
				}
			}
		}
	}
	return lookup, update
}

// startup is the median time from exec to the first line the program
// prints ("ready" for the bench consumers, the header for bootstrap).
func startup(argv, env []string, bench bool) float64 {
	var ms []float64
	for i := 0; i < 7; i++ {
		args := argv[1:]
		if bench {
			args = append(append([]string{}, args...), "ring", strconv.Itoa(os.Getpid()), "1")
		}
		cmd := exec.Command(argv[0], args...)
		cmd.Env = append(os.Environ(), env...)
		out, _ := cmd.StdoutPipe()
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			log.Fatal(err)
		}
		bufio.NewReader(out).ReadString('\n')
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		if bench {
			syscall.Getppid() // its one record ends it
		} else {
			cmd.Process.Signal(syscall.SIGINT)
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
	}
	sort.Float64s(ms)
	return ms[len(ms)/2]
}

func bootstrapRSS(wasmBPF, wasm string) int64 {
	cmd := exec.Command(wasmBPF, wasm)
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < 200; i++ {
		exec.Command("true").Run()
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func kernelRelease() string {
	var u syscall.Utsname
	syscall.Uname(&u)
	var b []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
