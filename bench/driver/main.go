// Command driver runs the wasm-bpf benchmark (scripts/bench.sh builds what
// it needs and calls it): the same BPF program (bench.bpf.c, one record
// per getppid() of this process) consumed by a native libbpf program, the
// baseline, and by wasm-bpf guests, one after another, each figure printed
// with its ratio to the baseline of the same run; then map operations,
// start-up, memory and density; then every target of docs/performance.md
// with whether it is met.
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
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// consumer is one way of reading the records.
type consumer struct {
	key  string // native, batch, classic, go
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

func (r result) lost() int { return r.sent - r.received }

// bench is one run of the whole benchmark.
type bench struct {
	dir, wasmBPF string
	n, repeat    int
	consumers    []consumer
	native       consumer
	skip         map[string]bool
	targets      []target
	cacheDir     string // the warm compile cache every run but the cold ones uses
}

// target is one line of the closing table.
type target struct {
	what, figure, ratio string
	met                 string // yes, no, or why it was not measured
}

func (b *bench) addTarget(what, figure, ratio string, met bool) {
	m := "no"
	if met {
		m = "yes"
	}
	b.targets = append(b.targets, target{what, figure, ratio, m})
}

// notComparable is the verdict of a target whose baseline did not hold
// the rate asked for.
const notComparable = "not measured: the native consumer lost records or the generator fell short of the rate (a busy machine?)"

func main() {
	dir := flag.String("dir", "bench", "directory holding native, guest-*.wasm and bench.bpf.o")
	wasmBPF := flag.String("runtime", "./wasm-bpf", "the wasm-bpf binary")
	n := flag.Int("n", 500_000, "records per run")
	ringRate := flag.Float64("ring-rate", 500_000, "paced rate of the ring buffer runs (records/s)")
	perfRate := flag.Float64("perf-rate", 100_000, "paced rate of the perf buffer runs (records/s)")
	repeat := flag.Int("repeat", 3, "paced runs per consumer: medians are printed, with the spread of the CPU ratio")
	only := flag.String("only", "", "consumers to run besides the native baseline (comma-separated: batch,classic,go; default all)")
	skip := flag.String("skip", "", "sections to skip (comma-separated: unpaced,paced,maps,start,memory,density)")
	kinds := flag.String("kinds", "ring,perf", "buffer kinds to run (comma-separated)")
	bootstrap := flag.String("bootstrap", "examples/bootstrap/bootstrap.wasm", "the bootstrap example (C)")
	goBootstrap := flag.String("go-bootstrap", "examples/go-bootstrap/go-bootstrap.wasm", "the bootstrap example in Go")
	goExecve := flag.String("go-execve", "examples/go-execve/go-execve.wasm", "the go-execve example (first-run compile time)")
	runqlat := flag.String("runqlat", "examples/runqlat/runqlat.wasm", "the runqlat example (density beyond the tracepoint limit)")
	density := flag.String("density", "bench/build/density", "the density program (bench/density)")
	mapOps := flag.Int("map-ops", 1_000_000, "map operations per map benchmark")
	flag.Parse()
	log.SetFlags(0)

	obj, _ := filepath.Abs(filepath.Join(*dir, "bench.bpf.o"))
	b := &bench{dir: *dir, wasmBPF: *wasmBPF, n: *n, repeat: *repeat, skip: map[string]bool{}}
	for _, s := range strings.Split(*skip, ",") {
		b.skip[s] = true
	}
	b.native = consumer{"native", "native libbpf (C)", []string{filepath.Join(*dir, "native")}, []string{"BENCH_OBJ=" + obj}}
	all := []consumer{
		b.native,
		{"batch", "wasm-bpf C guest, batched poll", []string{*wasmBPF, filepath.Join(*dir, "guest-batch.wasm")}, nil},
		{"classic", "wasm-bpf C guest, classic callback", []string{*wasmBPF, filepath.Join(*dir, "guest-classic.wasm")}, nil},
		{"go", "wasm-bpf Go guest (batched)", []string{*wasmBPF, filepath.Join(*dir, "guest-go.wasm")}, nil},
	}
	for _, c := range all {
		if c.key == "native" || *only == "" || slices.Contains(strings.Split(*only, ","), c.key) {
			b.consumers = append(b.consumers, c)
		}
	}

	// Every run but the cold ones starts from a compile cache that holds the
	// optimized code of every module (wasm-bpf compile), in a directory of
	// this run's own.
	var err error
	if b.cacheDir, err = os.MkdirTemp("", "wasm-bpf-bench-cache-"); err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(b.cacheDir)
	os.Setenv("XDG_CACHE_HOME", b.cacheDir)
	modules := []string{*bootstrap, *goBootstrap, *goExecve, *runqlat}
	for _, c := range b.consumers[1:] {
		modules = append(modules, c.argv[1])
	}
	out, err := exec.Command(*wasmBPF, append([]string{"compile"}, modules...)...).CombinedOutput()
	if err != nil {
		log.Fatalf("wasm-bpf compile: %v\n%s", err, out)
	}

	fmt.Printf("# wasm-bpf benchmark, %s\n\n", time.Now().Format("2006-01-02 15:04 MST"))
	fmt.Printf("CPU: %s (%d cores); kernel %s; load average at the start: %s; %d records of 64 bytes per run\n",
		cpuModel(), runtime.NumCPU(), kernelRelease(), loadAverage(), *n)

	for _, kind := range []struct {
		name string
		rate float64
	}{{"ring", *ringRate}, {"perf", *perfRate}} {
		if !slices.Contains(strings.Split(*kinds, ","), kind.name) {
			continue
		}
		if !b.skip["unpaced"] {
			b.unpaced(kind.name)
		}
		if !b.skip["paced"] {
			b.paced(kind.name, kind.rate)
		}
	}
	if !b.skip["maps"] {
		b.maps(*mapOps)
	}
	if !b.skip["start"] {
		b.startup(*bootstrap, *goExecve)
	}
	if !b.skip["memory"] {
		b.memory(*bootstrap, *goBootstrap)
	}
	if !b.skip["density"] {
		b.density(*density, *bootstrap, *runqlat)
	}

	fmt.Println("\n## Against the targets")
	fmt.Println()
	fmt.Println("| target | figure | ratio | met |")
	fmt.Println("|---|---|---|---|")
	for _, t := range b.targets {
		fmt.Printf("| %s | %s | %s | %s |\n", t.what, t.figure, t.ratio, t.met)
	}
	fmt.Printf("\nload average at the end: %s\n", loadAverage())
}

func ratio(v, base float64) string {
	if base == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v/base)
}

const tableHead = "| consumer | records/s | lost | CPU s per 1M | ratio | p50 µs | p99 µs | ratio | peak RSS MB | ratio |\n|---|---|---|---|---|---|---|---|---|---|"

// unpaced runs each consumer once as fast as the generator goes.
func (b *bench) unpaced(kind string) {
	fmt.Printf("\n## %s buffer, as fast as the generator goes (it shares the 2 cores with the consumer: a consumer that uses less CPU lets it go faster)\n\n", kind)
	fmt.Println(tableHead)
	var base result
	for i, c := range b.consumers {
		res := b.run(c, kind, 0)
		if i == 0 {
			base = res
		}
		fmt.Printf("| %s | %.0f | %d | %.2f | %s | %d | %d | %s | %.1f | %s |\n", c.name, res.rate, res.lost(),
			res.cpuPerM, ratio(res.cpuPerM, base.cpuPerM), res.p50, res.p99, ratio(float64(res.p99), float64(base.p99)),
			float64(res.rssKB)/1024, ratio(float64(res.rssKB), float64(base.rssKB)))
	}
}

// paced runs every consumer b.repeat times at rate, interleaved, and prints
// the medians; each CPU ratio is taken against the native run of the same
// round, and their spread is printed.
func (b *bench) paced(kind string, rate float64) {
	runs := make([][]result, len(b.consumers))
	for r := 0; r < b.repeat; r++ {
		for i, c := range b.consumers {
			runs[i] = append(runs[i], b.run(c, kind, rate))
		}
	}
	base := runs[0]
	held := true
	for _, res := range base {
		held = held && res.lost() == 0 && res.kernelFiredRate >= 0.95*rate
	}
	fmt.Printf("\n## %s buffer, paced at %.0f records/s (median of %d runs; CPU ratio: median [min-max] of each run against the native run of its round)\n\n", kind, rate, b.repeat)
	if !held {
		fmt.Printf("The native consumer lost records, or the generator fell short of the rate, in at least one round: the comparison below is not at the rate asked for.\n\n")
	}
	fmt.Println(tableHead)
	first := len(b.targets)
	defer func() {
		for i := first; i < len(b.targets) && !held; i++ {
			b.targets[i].met = notComparable
		}
	}()
	for i, c := range b.consumers {
		var cpuRatios, p99Ratios []float64
		for r, res := range runs[i] {
			cpuRatios = append(cpuRatios, res.cpuPerM/base[r].cpuPerM)
			p99Ratios = append(p99Ratios, float64(max(res.p99, 1))/float64(max(base[r].p99, 1)))
		}
		m := medianResult(runs[i])
		lost := 0
		for _, res := range runs[i] {
			lost += res.lost()
		}
		sort.Float64s(cpuRatios)
		cpu := fmt.Sprintf("%.2fx [%.2f-%.2f]", median(cpuRatios), cpuRatios[0], cpuRatios[len(cpuRatios)-1])
		fmt.Printf("| %s | %.0f | %d | %.2f | %s | %d | %d | %.2fx | %.1f | %s |\n", c.name, m.rate, lost, m.cpuPerM, cpu,
			m.p50, m.p99, median(p99Ratios), float64(m.rssKB)/1024, ratio(float64(m.rssKB), float64(medianResult(base).rssKB)))
		if i == 0 {
			continue
		}
		at := fmt.Sprintf("%s buffer at %.0fk records/s", kind, rate/1000)
		switch c.key {
		case "classic":
			b.addTarget("classic guest CPU per record <= 1.3x native, nothing lost, "+at,
				fmt.Sprintf("%.2f s per 1M, %d lost", m.cpuPerM, lost), cpu, held && lost == 0 && median(cpuRatios) <= 1.3)
		case "batch":
			b.addTarget("batched C guest CPU per record <= 1.1x native, "+at,
				fmt.Sprintf("%.2f s per 1M, %d lost", m.cpuPerM, lost), cpu, held && lost == 0 && median(cpuRatios) <= 1.1)
		}
		b.addTarget(c.name+": p99 latency within 2x native, "+at,
			fmt.Sprintf("%d µs (native %d)", m.p99, medianResult(base).p99), fmt.Sprintf("%.2fx", median(p99Ratios)), held && median(p99Ratios) <= 2)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	return s[len(s)/2]
}

// medianResult is the median of each figure over runs.
func medianResult(runs []result) result {
	pick := func(f func(result) float64) float64 {
		var v []float64
		for _, r := range runs {
			v = append(v, f(r))
		}
		return median(v)
	}
	return result{
		rate:    pick(func(r result) float64 { return r.rate }),
		cpuPerM: pick(func(r result) float64 { return r.cpuPerM }),
		p50:     int(pick(func(r result) float64 { return float64(r.p50) })),
		p99:     int(pick(func(r result) float64 { return float64(r.p99) })),
		rssKB:   int64(pick(func(r result) float64 { return float64(r.rssKB) })),
	}
}

// run starts c, fires b.n records at rate (0: unpaced) once it is ready,
// and collects its result line and resource usage.
func (b *bench) run(c consumer, kind string, rate float64) result {
	cmd := exec.Command(c.argv[0], append(c.argv[1:], kind, strconv.Itoa(os.Getpid()), strconv.Itoa(b.n))...)
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
	fire(b.n, rate)
	fired := time.Since(start)
	var res result
	res.sent = b.n
	res.kernelFiredRate = float64(b.n) / fired.Seconds()
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

func (b *bench) maps(ops int) {
	fmt.Printf("\n## map operations (%d each, one hash map key)\n\n", ops)
	fmt.Println("| consumer | lookup ns/op | ratio | update ns/op | ratio |")
	fmt.Println("|---|---|---|---|---|")
	var baseL, baseU float64
	for i, c := range b.consumers {
		if c.key == "classic" {
			continue // the same map calls as the batched C guest
		}
		l, u := mapBench(c, ops)
		if i == 0 {
			baseL, baseU = l, u
		}
		fmt.Printf("| %s | %.0f | %s | %.0f | %s |\n", strings.TrimSuffix(c.name, ", batched poll"), l, ratio(l, baseL), u, ratio(u, baseU))
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

// The reference C++ runtime's start-to-attached for bootstrap, measured on
// this machine (it cannot be built here any more): the targets' bound.
const refStartMs, refStartHighMs = 23.0, 33.0

// startup measures exec to the first line a program prints ("ready" for
// the bench consumers, the header for the examples, printed once
// attached). Cold: every run with an empty compile cache, as a first run
// is; no cache: --no-cache, every run compiling with Cranelift, which is
// what a first run cost before compiles were tiered.
func (b *bench) startup(bootstrap, goExecve string) {
	const runs = 7
	fmt.Printf("\n## start-up (exec to attached: the first line printed; median of %d)\n\n", runs)
	fmt.Println("| what | warm cache ms | first run (empty cache) ms | --no-cache ms |")
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| native libbpf consumer | %.1f | | |\n", startup(b.native.argv, b.native.env, true, "", runs))
	row := func(name string, argv []string, bench bool) (warm, cold, nocache float64) {
		warm = startup(argv, nil, bench, "", runs)
		cold = startup(argv, nil, bench, "cold", runs)
		nocache = startup(append([]string{argv[0], "--no-cache"}, argv[1:]...), nil, bench, "", runs)
		fmt.Printf("| %s | %.1f | %.1f | %.1f |\n", name, warm, cold, nocache)
		return warm, cold, nocache
	}
	row("wasm-bpf bench C guest", []string{b.wasmBPF, filepath.Join(b.dir, "guest-batch.wasm")}, true)
	warm, cold, _ := row("wasm-bpf bootstrap example (C)", []string{b.wasmBPF, bootstrap}, false)
	_, goCold, goNoCache := row("wasm-bpf go-execve example (Go)", []string{b.wasmBPF, goExecve}, false)
	b.addTarget(fmt.Sprintf("bootstrap start-to-attached, warm cache, <= the reference runtime's %.0f-%.0f ms", refStartMs, refStartHighMs),
		fmt.Sprintf("%.1f ms", warm), ratio(warm, refStartMs), warm <= refStartMs)
	b.addTarget(fmt.Sprintf("bootstrap start-to-attached, first run, < 2x the reference's (%.0f ms)", 2*refStartMs),
		fmt.Sprintf("%.1f ms", cold), ratio(cold, refStartMs), cold < 2*refStartMs)
	b.addTarget("go-execve first run >= 3x faster than a Cranelift compile (--no-cache: the first run before tiering)",
		fmt.Sprintf("%.1f ms against %.1f ms", goCold, goNoCache), fmt.Sprintf("%.1fx faster", goNoCache/goCold), goNoCache >= 3*goCold)
}

// startup is the median time from exec to the first line the program
// prints; cache "cold" gives each run an empty compile cache of its own.
func startup(argv, env []string, bench bool, cache string, runs int) float64 {
	var ms []float64
	for i := 0; i < runs; i++ {
		args := argv[1:]
		if bench {
			args = append(append([]string{}, args...), "ring", strconv.Itoa(os.Getpid()), "1")
		}
		cmd := exec.Command(argv[0], args...)
		cmd.Env = append(os.Environ(), env...)
		if cache == "cold" {
			dir, err := os.MkdirTemp("", "wasm-bpf-bench-cold-")
			if err != nil {
				log.Fatal(err)
			}
			defer os.RemoveAll(dir)
			cmd.Env = append(cmd.Env, "XDG_CACHE_HOME="+dir)
		}
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
	return median(ms)
}

// memory is the peak RSS of the bootstrap example, in C and in Go, running
// 2 s while 200 processes start (warm cache).
func (b *bench) memory(bootstrap, goBootstrap string) {
	fmt.Println("\n## memory (peak RSS running 2 s while 200 processes start; warm cache)")
	fmt.Println()
	fmt.Println("| guest | peak RSS MB |")
	fmt.Println("|---|---|")
	c := float64(peakRSS(b.wasmBPF, bootstrap)) / 1024
	g := float64(peakRSS(b.wasmBPF, goBootstrap)) / 1024
	fmt.Printf("| bootstrap (C) | %.1f |\n| bootstrap (Go, examples/go-bootstrap) | %.1f |\n", c, g)
	b.addTarget("bootstrap (C) peak RSS <= the reference runtime's 25 MB", fmt.Sprintf("%.1f MB", c), ratio(c, 25), c <= 25)
	b.addTarget("Go guest (go-bootstrap) peak RSS <= 30 MB", fmt.Sprintf("%.1f MB", g), ratio(g, 30), g <= 30)
}

func peakRSS(wasmBPF, wasm string) int64 {
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

// density starts N copies of a guest in one host.Runtime (bench/density)
// and reports the time until all are attached and the RSS each added guest
// costs. bootstrap's programs are tracepoint programs, of which the kernel
// attaches at most 64 to one tracepoint (BPF_TRACE_MAX_PROGS), other
// users of the machine included: it goes to 50. runqlat attaches through
// BTF raw tracepoints, which have no such limit: it goes to 100.
func (b *bench) density(bin, bootstrap, runqlat string) {
	fmt.Println("\n## density (N copies of a guest in one host.Runtime, warm cache; RSS after all attached)")
	fmt.Println()
	fmt.Println("| guest | N | all attached ms | RSS MB | RSS per added guest MB |")
	fmt.Println("|---|---|---|---|---|")
	for _, g := range []struct {
		name, wasm string
		ns         []int
	}{{"bootstrap", bootstrap, []int{1, 10, 50}}, {"runqlat", runqlat, []int{1, 10, 100}}} {
		var rss1 float64
		var last struct {
			n         int
			ms, perMB float64
		}
		for _, n := range g.ns {
			ms, rss, err := densityRun(bin, g.wasm, n)
			if err != nil {
				fmt.Printf("| %s | %d | failed: %v | | |\n", g.name, n, err)
				continue
			}
			per := "-"
			if n == 1 {
				rss1 = rss
			} else {
				last.n, last.ms, last.perMB = n, ms, (rss-rss1)/float64(n-1)
				per = fmt.Sprintf("%.2f", last.perMB)
			}
			fmt.Printf("| %s | %d | %.0f | %.1f | %s |\n", g.name, n, ms, rss, per)
		}
		if last.n > 0 {
			b.addTarget(fmt.Sprintf("density, %s: RSS per added guest < 1.5 MB (1 to %d guests)", g.name, last.n),
				fmt.Sprintf("%.2f MB", last.perMB), ratio(last.perMB, 1.5), last.perMB < 1.5)
		}
		if g.name == "runqlat" && last.n == 100 {
			b.addTarget("density: 100 guests attached in < 2 s (runqlat: bootstrap cannot attach 100 copies, see above)",
				fmt.Sprintf("%.0f ms", last.ms), ratio(last.ms, 2000), last.ms < 2000)
		}
	}
}

func densityRun(bin, wasm string, n int) (ms, rssMB float64, err error) {
	out, err := exec.Command(bin, "-n", strconv.Itoa(n), "-wasm", wasm).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			lines := strings.Split(strings.TrimSpace(string(ee.Stderr)), "\n")
			return 0, 0, fmt.Errorf("%s", lines[len(lines)-1])
		}
		return 0, 0, err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f, ok := strings.CutPrefix(l, "density "); ok {
			var gotN int
			var rssKB float64
			if _, err := fmt.Sscanf(f, "n=%d attached_ms=%f rss_kb=%f", &gotN, &ms, &rssKB); err == nil {
				return ms, rssKB / 1024, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("no result line in %q", out)
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

func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
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
