package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasm-bpf/wasm-bpf/agent"
)

// A guest's failure reads the same in `wasm-bpf logs` as on `wasm-bpf
// run`'s stderr (docs/agent.md, Logs): the same guest, failing a load
// with the end of the verifier's log (a message of several lines), an
// attach to a network interface that does not exist, and a load its
// policy refuses, prints the same lines, but for the guest's name in a
// refusal (its module's file name under run, its id under the agent).
// The module file is named after the guest's id, so that the BPF
// objects' names, which the explanations quote, agree.
func TestAgentLogsReadAsRun(t *testing.T) {
	a := startAgent(t)
	cli := tc.CLIT(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		name   string
		define string
		args   []string
		lines  int // at least, on run's stderr
	}{
		{"verifier", "DIAG_VERIFIER", nil, 3},
		{"no such interface", "DIAG_ATTACH", []string{"wbdiag_sock@wbdiagnone0"}, 1},
		{"policy", "DIAG_HELPER", nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := "wbdiag-logs-" + runID()
			module := filepath.Join(dir, id+".wasm")
			if err := os.Symlink(diagGuest(t, tt.define, true), module); err != nil {
				t.Fatal(err)
			}
			run := exec.Command(cli, append([]string{module}, tt.args...)...)
			var stderr bytes.Buffer
			run.Stderr = &stderr
			if err := run.Run(); run.ProcessState.ExitCode() != 1 {
				t.Fatalf("run: %v, want exit code 1 (the guest's); stderr:\n%s", err, stderr.String())
			}
			want := lines(strings.ReplaceAll(stderr.String(), " "+id+".wasm: ", " "+id+": "))
			if len(want) < tt.lines {
				t.Fatalf("run printed %d lines on stderr, want at least %d:\n%s", len(want), tt.lines, stderr.String())
			}

			apiStart(t, a, agent.Spec{ID: id, Module: module, Args: tt.args})
			a.WaitState(id, agent.StateFailed, readyTimeout)
			logs := exec.Command(cli, "logs", "--socket", a.Socket, id)
			stderr.Reset()
			logs.Stderr = &stderr
			if err := logs.Run(); err != nil {
				t.Fatalf("logs: %v\n%s", err, stderr.String())
			}
			// The agent's own lines about the guest, which run does not
			// print: its start (which may come after the host's lines, as
			// the guest runs on its own thread) and its end.
			agentSaid := []string{"wasm-bpf: started " + module, "wasm-bpf: exited with code 1"}
			got := lines(stderr.String())
			for _, l := range agentSaid {
				if i := slices.Index(got, l); i < 0 {
					t.Errorf("logs lacks the agent's line %q", l)
				} else {
					got = slices.Delete(got, i, i+1)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("wasm-bpf logs prints\n%s\nwasm-bpf run printed\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
