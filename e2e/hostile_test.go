package e2e

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/internal/testenv"
)

// Linux errno values, negated as the host ABI returns them.
const (
	eNOENT = -2
	eBADF  = -9
	eFAULT = -14
	eEXIST = -17
	eINVAL = -22
)

// hostileCases is what testdata/hostile.c must print for each "case <name>
// <ret>" line, per the host ABI contract (docs/abi.md).
var hostileCases = map[string]int64{
	// load: any failure is handle 0.
	"load_ptr_oob":       0,
	"load_ptr_at_end":    0,
	"load_end_plus1":     0,
	"load_size0":         0,
	"load_size_neg":      0,
	"load_size_huge":     0,
	"load_garbage":       0,
	"load_truncated_elf": 0,
	// A valid ELF whose program the verifier refuses.
	"load_verifier_reject": 0,

	// close: always 0, also for unknown and closed handles.
	"close_valid":   0,
	"close_closed":  0,
	"close_0":       0,
	"close_unknown": 0,
	"close_h2":      0,

	// A closed handle is unknown everywhere; its map fds are gone.
	"attach_closed_handle": eINVAL,
	"poll_closed_handle":   eINVAL,
	"mapfd_closed_handle":  eINVAL,
	"mop_closed_handle_fd": eBADF,
	"mop_fd_after_close":   eBADF,

	// attach
	"attach_handle0":             eINVAL,
	"attach_unknown_handle":      eINVAL,
	"attach_name_oob":            eFAULT,
	"attach_name_unterminated":   eFAULT,
	"attach_unknown_prog":        eNOENT,
	"attach_target_oob":          eFAULT,
	"attach_target_unterminated": eFAULT,

	// buffer_poll
	"poll_handle0":         eINVAL,
	"poll_unknown_handle":  eINVAL,
	"poll_fd0":             eINVAL,
	"poll_fd1":             eINVAL,
	"poll_fd2":             eINVAL,
	"poll_fd_negative":     eINVAL,
	"poll_hash_fd":         eINVAL,
	"poll_other_handle_rb": eINVAL,
	"poll_data_oob":        eFAULT,
	"poll_data_end_plus1":  eFAULT,
	"poll_max_size_neg":    eFAULT,
	"poll_table_oob":       eINVAL,
	"poll_table_negative":  eINVAL,
	"poll_table_null":      eINVAL, // slot 0 of the table is the null function
	"poll_sig_void":        eINVAL,
	"poll_sig_int":         eINVAL,

	// map_fd_by_name
	"mapfd_handle0":           eINVAL,
	"mapfd_unknown_handle":    eINVAL,
	"mapfd_name_oob":          eFAULT,
	"mapfd_name_unterminated": eFAULT,
	"mapfd_unknown_map":       eNOENT,

	// map_operate
	"mop_cmd0":                   eINVAL,
	"mop_cmd5":                   eINVAL,
	"mop_cmd99":                  eINVAL,
	"mop_cmd_negative":           eINVAL,
	"mop_fd0":                    eBADF,
	"mop_fd1":                    eBADF,
	"mop_fd2":                    eBADF,
	"mop_fd12345":                eBADF,
	"mop_fd_negative":            eBADF,
	"mop_key_oob":                eFAULT,
	"mop_key_end_plus1":          eFAULT,
	"mop_value_oob":              eFAULT,
	"mop_value_end_plus1":        eFAULT,
	"mop_update_value_end_plus1": eFAULT,
	"mop_next_key_oob":           eFAULT,
	"mop_next_key_end_plus1":     eFAULT,
	"mop_lookup_missing":         eNOENT,
	"mop_delete_missing":         eNOENT,
	"mop_next_key_empty":         eNOENT,
	"mop_update":                 0,
	"mop_update_noexist":         eEXIST,
	"mop_lookup_present":         0,
	"mop_lookup_value":           42,
	"mop_next_key_first":         0,
	"mop_next_key_first_value":   7,
	"mop_next_key_last":          eNOENT,
	"mop_other_handle_lookup":    eNOENT,
	"mop_delete":                 0,
	"mop_delete_again":           eNOENT,
}

// TestHostileInput: every host function called with bad arguments returns
// the documented error (and nothing crashes); afterwards the same guest
// still loads, attaches and receives events normally.
func TestHostileInput(t *testing.T) {
	testenv.RequireBPF(t)
	wasm := guestWasm(t, "hostile", []string{"events", "reject"})
	id := runID()
	prefix, stop := "wbh"+id, "wbh"+id+"stop"
	g := startCLI(t, nil, wasm, stop)
	g.waitLine("cases done", readyTimeout)
	checkHostileCases(t, g)
	// The refused load must not leave its map behind (it was created
	// before the verifier refused the program), nor its program: only the
	// fds of the guest's process could keep them.
	held := g.held()
	if len(named(held.maps, "wbrej_map")) > 0 || len(named(held.progs, "wbrej_prog")) > 0 {
		g.errorf("the guest still holds objects of the refused object: %s", held)
	}
	// The runtime must still work for this guest after all that.
	runEventsScenario(t, g, newSpawner(t), prefix, stop, 5)
}

func checkHostileCases(t *testing.T, g *guest) {
	t.Helper()
	got := map[string]int64{}
	var problems []string
	for _, l := range g.stdout.snapshot() {
		f := strings.Fields(l.text)
		if len(f) == 0 || f[0] != "case" {
			continue
		}
		if len(f) != 3 {
			problems = append(problems, "malformed line "+strconv.Quote(l.text))
			continue
		}
		v, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			problems = append(problems, "malformed line "+strconv.Quote(l.text))
			continue
		}
		if _, dup := got[f[1]]; dup {
			problems = append(problems, "case printed twice: "+f[1])
		}
		got[f[1]] = v
	}
	for name, want := range hostileCases {
		v, ok := got[name]
		switch {
		case !ok:
			problems = append(problems, "case not printed: "+name)
		case v != want:
			problems = append(problems, name+": got "+strconv.FormatInt(v, 10)+", want "+strconv.FormatInt(want, 10))
		}
	}
	for name := range got {
		if _, ok := hostileCases[name]; !ok {
			problems = append(problems, "case the test does not know: "+name)
		}
	}
	for _, l := range g.stdout.snapshot() {
		if strings.HasPrefix(l.text, "info handles") && !strings.Contains(l.text, "distinct") {
			problems = append(problems, "two loads returned the same handle: "+l.text)
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		g.errorf("%d of %d hostile cases wrong:\n  %s", len(problems), len(hostileCases), strings.Join(problems, "\n  "))
	}
}
