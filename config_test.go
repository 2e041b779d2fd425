package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/agent"
	"github.com/wasm-bpf/wasm-bpf/host"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

// run and the agent start a guest with the same host.Config: run reads
// its flags into an agent.Spec (guestSpec, as start does), and the
// defaults of the flags are the defaults of a spec that gives no limits.
func TestRunConfigIsTheAgents(t *testing.T) {
	btf := filepath.Join(t.TempDir(), "vmlinux.btf")
	if err := os.WriteFile(btf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	runConfig := func(args ...string) host.Config {
		t.Helper()
		var cfg host.Config
		app := &cli.App{Flags: runFlags(), Action: func(c *cli.Context) error {
			spec, err := guestSpec(c)
			if err != nil {
				return err
			}
			cfg = spec.Config(nil)
			return nil
		}}
		if err := app.Run(append([]string{"wasm-bpf"}, append(args, "/m.wasm", "a1")...)); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	bytes := func(b policy.Bytes) *policy.Bytes { return &b }
	links := 3
	for _, tt := range []struct {
		name  string
		flags []string
		spec  agent.Spec
	}{
		{"defaults", nil, agent.Spec{ID: "m", Args: []string{"a1"}}},
		{"limits", []string{"--max-memory", "64MiB", "--max-links", "3", "--max-fds", "-1", "--max-objects", "2",
			"--max-map-memory", "0", "--cpu-limit", "2s", "--btf", btf, "--env", "A=1"},
			agent.Spec{ID: "m", Args: []string{"a1"}, Env: []string{"A=1"}, BTF: btf, Limits: agent.Limits{
				MaxMemory: bytes(64 << 20), MaxLinks: &links, MaxFDs: -1, MaxObjects: 2,
				MaxMapMemory: bytes(0), CPULimit: agent.Duration(2e9)}}},
		{"callback names", []string{"--wrapper-module-name", "wrap", "--callback-export-name", "cb"},
			agent.Spec{ID: "m", Args: []string{"a1"}, WrapperModule: "wrap", CallbackExport: "cb"}},
		{"callback names, short", []string{"-m", "wrap", "-c", "cb"},
			agent.Spec{ID: "m", Args: []string{"a1"}, WrapperModule: "wrap", CallbackExport: "cb"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, want := runConfig(tt.flags...), tt.spec.Config(nil)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("run's config\n%+v\nthe agent's\n%+v", got, want)
			}
		})
	}
	if d := runConfig(); d.MaxMemory != 1<<30 || d.MaxLinks != host.DefaultMaxFDs/2 || d.MaxFDs != host.DefaultMaxFDs || d.MaxMapMemory != 256<<20 ||
		d.WrapperModule != host.DefaultWrapperModule || d.CallbackExport != host.DefaultCallbackExport {
		t.Errorf("run's defaults changed: %+v", d)
	}
}
