package agent

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metric names; docs/agent.md says what each counts.
var (
	descRecords  = guestDesc("records_delivered_total", "Records the guest's ring and perf buffer polls handed to it.")
	descLost     = prometheus.NewDesc("wasm_bpf_guest_records_lost_total", "Records lost before the guest got them: source=perf_buffer counts what the kernel reported dropped from full perf buffers, source=program what the guest's BPF programs count in their wasm_bpf_records_lost variable (such as failed ring buffer reservations).", []string{"guest", "source"}, nil)
	descPolls    = guestDesc("polls_total", "Ring and perf buffer polls of the guest.")
	descCPU      = guestDesc("cpu_seconds_total", "CPU time of the guest's thread (its Wasm code and the host calls made there), as its CPU limit counts it.")
	descHost     = guestDesc("host_call_seconds_total", "Time in the guest's host calls: buffer polls (waiting included), object loads, attaches and closes.")
	descMemory   = guestDesc("memory_bytes", "The guest's linear memory.")
	descObjects  = guestDesc("bpf_objects", "BPF objects the guest holds.")
	descPrograms = guestDesc("bpf_programs", "BPF programs the guest holds loaded.")
	descMaps     = guestDesc("bpf_maps", "BPF maps the guest holds.")
	descLinks    = guestDesc("bpf_links", "Programs the guest holds attached.")
	descKernMem  = guestDesc("bpf_memory_bytes", "Kernel memory of the guest's BPF maps and programs, as the kernel accounts it (memlock).")
	descRestarts = guestDesc("restarts_total", "Times the guest was restarted by its restart policy.")
	descGuests   = prometheus.NewDesc("wasm_bpf_guests", "Guests of the agent by state.", []string{"state"}, nil)
	descHits     = prometheus.NewDesc("wasm_bpf_compile_cache_hits_total", "Guest starts whose native code came from the compile cache.", nil, nil)
	descMisses   = prometheus.NewDesc("wasm_bpf_compile_cache_misses_total", "Guest starts that compiled their module.", nil, nil)
	descReloads  = prometheus.NewDesc("wasm_bpf_guest_file_reloads_total", "Applications of the guest file, by result (ok, error).", []string{"result"}, nil)
)

func guestDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("wasm_bpf_guest_"+name, help, []string{"guest"}, nil)
}

// Registry is a Prometheus registry holding the agent's metrics and the
// Go runtime's and process's (go_*, process_*).
func (a *Agent) Registry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collector{a}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

type collector struct{ a *Agent }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRecords, descLost, descPolls, descCPU, descHost, descMemory,
		descObjects, descPrograms, descMaps, descLinks, descKernMem, descRestarts, descGuests, descHits, descMisses, descReloads} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	a.mu.Lock()
	gs := make([]*guest, 0, len(a.guests))
	for _, g := range a.guests {
		gs = append(gs, g)
	}
	a.mu.Unlock()
	byState := map[State]int{}
	for _, g := range gs {
		s, state, restarts := g.stats()
		byState[state]++
		id := g.spec.ID
		counter := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, append([]string{id}, labels...)...)
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, id)
		}
		counter(descRecords, float64(s.Records))
		counter(descLost, float64(s.PerfLost), "perf_buffer")
		counter(descLost, float64(s.ProgramLost), "program")
		counter(descPolls, float64(s.Polls))
		counter(descCPU, s.CPUTime.Seconds())
		counter(descHost, s.HostTime.Seconds())
		counter(descRestarts, float64(restarts))
		gauge(descMemory, float64(s.Memory))
		gauge(descObjects, float64(s.Objects))
		gauge(descPrograms, float64(s.Programs))
		gauge(descMaps, float64(s.Maps))
		gauge(descLinks, float64(s.Links))
		gauge(descKernMem, float64(s.KernelMemory))
	}
	for _, st := range States {
		ch <- prometheus.MustNewConstMetric(descGuests, prometheus.GaugeValue, float64(byState[st]), string(st))
	}
	hits, misses := a.cfg.Runtime.CacheStats()
	ch <- prometheus.MustNewConstMetric(descHits, prometheus.CounterValue, float64(hits))
	ch <- prometheus.MustNewConstMetric(descMisses, prometheus.CounterValue, float64(misses))
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(a.reloadsOK.Load()), "ok")
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(a.reloadsFailed.Load()), "error")
}
