package testenv

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// KernelHelpers returns the helpers a loaded program calls as the kernel
// shows it: the calls of its xlated instructions (bpf_prog_get_info_by_fd),
// which name the kernel function each call lands in, mapped back to the
// helper the program asked for (see helperOf). Helpers the verifier
// inlined are gone from this view (see docs/policy.md); none appears here
// that the program did not ask for.
func KernelHelpers(prog *ebpf.Program) ([]string, error) {
	info, err := prog.Info()
	if err != nil {
		return nil, err
	}
	insns, err := info.Instructions()
	if err != nil {
		return nil, err
	}
	syms, err := kallsyms()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
	for _, ins := range insns {
		if ins.OpCode.JumpOp() != asm.Call || ins.Src != asm.R0 {
			continue // BPF-to-BPF and kfunc calls
		}
		var name string
		if ins.Constant == int64(asm.FnTailCall) {
			// bpf_insn_prepare_dump shows a tail call as the helper's id.
			name = "bpf_tail_call"
		} else {
			sym, ok := syms.names[syms.callBase+uint64(int64(int32(ins.Constant)))]
			if !ok {
				return nil, fmt.Errorf("call %d: no kernel symbol at __bpf_call_base%+d", ins.Constant, ins.Constant)
			}
			if name, ok = helperOf(sym); !ok {
				return nil, fmt.Errorf("call of kernel function %s: which helper it stands for is not known (add it to helperOf and docs/policy.md)", sym)
			}
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names, nil
}

// helperOf maps the kernel function a helper call lands in to the helper:
// the verifier points map helpers at the map type's own operation and some
// helpers at a variant for the program type (docs/policy.md has this table).
func helperOf(sym string) (string, bool) {
	if name, ok := rewrites[sym]; ok {
		return name, true
	}
	for _, s := range mapOps {
		if strings.HasSuffix(sym, s.suffix) && !strings.HasPrefix(sym, "bpf_") {
			return s.helper, true
		}
	}
	if strings.HasPrefix(sym, "bpf_for_each_") && strings.HasSuffix(sym, "_elem") {
		return "bpf_for_each_map_elem", true
	}
	for _, suffix := range []string{"_tp", "_raw_tp", "_pe"} {
		if base, ok := strings.CutSuffix(sym, suffix); ok && strings.HasPrefix(base, "bpf_") {
			return base, true
		}
	}
	if strings.HasPrefix(sym, "bpf_") {
		return sym, true
	}
	return "", false
}

// rewrites are helpers whose kernel function has another name.
var rewrites = map[string]string{
	"bpf_probe_read_compat":     "bpf_probe_read",
	"bpf_probe_read_compat_str": "bpf_probe_read_str",
	"bpf_skb_event_output":      "bpf_skb_output",
	"bpf_xdp_event_output":      "bpf_xdp_output",
}

// mapOps are the map operations the verifier calls directly for map
// helpers (ops->map_lookup_elem and the like), by their names' ends.
var mapOps = []struct{ suffix, helper string }{
	{"_lookup_percpu_elem", "bpf_map_lookup_percpu_elem"},
	{"_lookup_elem", "bpf_map_lookup_elem"},
	{"_update_elem", "bpf_map_update_elem"},
	{"_delete_elem", "bpf_map_delete_elem"},
	{"_push_elem", "bpf_map_push_elem"},
	{"_pop_elem", "bpf_map_pop_elem"},
	{"_peek_elem", "bpf_map_peek_elem"},
	{"_map_redirect", "bpf_redirect_map"},
}

type symbols struct {
	callBase uint64
	names    map[uint64]string
}

var (
	symsOnce sync.Once
	syms     *symbols
	symsErr  error
)

// kallsyms reads the kernel's function addresses once.
func kallsyms() (*symbols, error) {
	symsOnce.Do(func() {
		f, err := os.Open("/proc/kallsyms")
		if err != nil {
			symsErr = err
			return
		}
		defer f.Close()
		s := &symbols{names: map[uint64]string{}}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 3 || len(fs) > 3 { // module symbols carry [module]
				continue
			}
			addr, err := strconv.ParseUint(fs[0], 16, 64)
			if err != nil || addr == 0 {
				continue
			}
			if fs[2] == "__bpf_call_base" {
				s.callBase = addr
			}
			if old, ok := s.names[addr]; !ok || !strings.HasPrefix(old, "bpf_") && strings.HasPrefix(fs[2], "bpf_") {
				s.names[addr] = fs[2]
			}
		}
		if s.callBase == 0 {
			symsErr = fmt.Errorf("/proc/kallsyms shows no __bpf_call_base (kptr_restrict?)")
			return
		}
		syms, symsErr = s, sc.Err()
	})
	return syms, symsErr
}
