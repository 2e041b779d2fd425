package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/agent"
	"github.com/wasm-bpf/wasm-bpf/oci"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start a guest in the agent (it outlives this command; wasm-bpf logs and stop reach it)",
		ArgsUsage: "MODULE.wasm|REF [ARGS...]",
		Flags: append([]cli.Flag{
			socketFlag,
			&cli.StringFlag{Name: "id", Usage: "name the guest `ID` (default: the module's file name)"},
			&cli.StringFlag{Name: "restart", Value: "never", Usage: "restart `POLICY`: never, on-failure, always"},
		}, runFlagsNamed("env", "allow", "policy", "max-memory", "cpu-limit", "max-objects", "max-links", "max-fds", "max-map-memory", "btf", "wrapper-module-name", "callback-export-name", "pull", "verify-key")...),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return fmt.Errorf("no module given: wasm-bpf start [flags] MODULE.wasm|REF [ARGS...]")
			}
			spec, err := guestSpec(c)
			if err != nil {
				return err
			}
			s, err := agentClient(c).Start(c.Context, spec)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s %s\n", s.ID, s.State)
			return nil
		},
	}
}

// runFlagsNamed are run's flags of these names: a guest of the agent is
// described as run describes one.
func runFlagsNamed(names ...string) []cli.Flag {
	var out []cli.Flag
	for _, f := range runFlags() {
		if slices.Contains(names, f.Names()[0]) {
			out = append(out, f)
		}
	}
	return out
}

// guestSpec is the guest run's or start's flags describe (the flags of
// runFlags, and start's own), its paths made absolute: the agent does not
// share this command's working directory.
func guestSpec(c *cli.Context) (agent.Spec, error) {
	module := c.Args().First()
	abs := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		return filepath.Abs(p)
	}
	var err error
	if oci.IsModuleFile(module) {
		if module, err = abs(module); err != nil {
			return agent.Spec{}, err
		}
	}
	id := c.String("id")
	if id == "" {
		id = guestID(module)
	}
	spec := agent.Spec{
		ID:             id,
		Module:         module,
		Args:           c.Args().Tail(),
		Env:            c.StringSlice("env"),
		Allow:          c.StringSlice("allow"),
		Restart:        agent.RestartPolicy(c.String("restart")),
		Pull:           c.String("pull"),
		WrapperModule:  c.String("wrapper-module-name"),
		CallbackExport: c.String("callback-export-name"),
	}
	if spec.PolicyFile, err = abs(c.String("policy")); err != nil {
		return spec, err
	}
	if spec.VerifyKey, err = abs(c.String("verify-key")); err != nil {
		return spec, err
	}
	if spec.BTF, err = abs(c.String("btf")); err != nil {
		return spec, err
	}
	if spec.BTF != "" {
		// libbpf would only say "failed to parse target BTF" at load.
		if _, err := os.Stat(spec.BTF); err != nil {
			return spec, fmt.Errorf("--btf: %w", err)
		}
	}
	l := &spec.Limits
	mem, err := policy.ParseBytes(c.String("max-memory"))
	if err != nil {
		return spec, fmt.Errorf("--max-memory: %w", err)
	}
	mapMem, err := policy.ParseBytes(c.String("max-map-memory"))
	if err != nil {
		return spec, fmt.Errorf("--max-map-memory: %w", err)
	}
	links := c.Int("max-links")
	l.MaxMemory, l.MaxMapMemory, l.MaxLinks = &mem, &mapMem, &links
	l.CPULimit = agent.Duration(c.Duration("cpu-limit"))
	l.MaxObjects, l.MaxFDs = c.Int("max-objects"), c.Int("max-fds")
	return spec, nil
}

// guestID names a guest after its module: "bootstrap" for
// ./bootstrap.wasm or ghcr.io/acme/bootstrap:1.0.
func guestID(module string) string {
	base := filepath.Base(module)
	for i, r := range base {
		if r == ':' || r == '@' {
			base = base[:i]
			break
		}
	}
	return strings.ToLower(strings.TrimSuffix(base, ".wasm"))
}
