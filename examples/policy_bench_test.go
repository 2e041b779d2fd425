package examples_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
	"github.com/wasm-bpf/wasm-bpf/libbpf"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

// BenchmarkPolicyAnalysis: what the policy adds to a load, against the
// load itself in the same iteration (libbpf open, load and close of the
// same object: the kernel's verifier included). Reports the analysis
// (policy.Analyze and Check) per load and as a percentage of it.
//
//	make -C examples && go test -run '^$' -bench PolicyAnalysis ./examples/
func BenchmarkPolicyAnalysis(b *testing.B) {
	testenv.RequireBPF(b)
	root, err := testenv.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"bootstrap", "runqlat"} {
		data, err := os.ReadFile(filepath.Join(root, "examples", name, name+".bpf.o"))
		if err != nil {
			testenv.Unavailable(b, "%v (make -C examples)", err)
		}
		b.Run(name, func(b *testing.B) {
			var analysis, load time.Duration
			pol := policy.Default()
			for b.Loop() {
				start := time.Now()
				a, err := policy.Analyze(data)
				if err != nil {
					b.Fatal(err)
				}
				if err := pol.Check(a); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				o, err := libbpf.Open("wbbench", data, libbpf.OpenOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if err := o.Load(); err != nil {
					b.Fatal(err)
				}
				o.Close()
				analysis += mid.Sub(start)
				load += time.Since(mid)
			}
			b.ReportMetric(float64(analysis.Microseconds())/float64(b.N), "µs-analysis/op")
			b.ReportMetric(float64(load.Microseconds())/float64(b.N), "µs-load/op")
			b.ReportMetric(100*float64(analysis)/float64(load), "%-of-load")
		})
	}
}
