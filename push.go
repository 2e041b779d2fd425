package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/oci"
)

// pushCommand is `wasm-bpf push`: a module file to a registry, as a Wasm
// OCI artifact (docs/oci.md).
func pushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "push a guest module to a registry as a Wasm OCI artifact; prints the reference and its digest",
		ArgsUsage: "MODULE.wasm REF",
		Flags:     []cli.Flag{insecureFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return errors.New("push: give a module file and a reference (REGISTRY/REPO:TAG)")
			}
			path, ref := c.Args().Get(0), c.Args().Get(1)
			wasm, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			created, err := sourceDateEpoch()
			if err != nil {
				return err
			}
			client, err := newOCIClient(c, nil)
			if err != nil {
				return err
			}
			ann, err := annotations(filepath.Base(path), wasm)
			if err != nil {
				return fmt.Errorf("push %s: %w", path, err)
			}
			d, err := client.Push(c.Context, wasm, ref, oci.PushOptions{Created: created, Annotations: ann})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "Pushed %s\nDigest: %s\n", ref, d.DigestStr())
			return nil
		},
	}
}

// annotations is what the module's BPF objects ask of the kernel, as inspect
// finds it, for the manifest's annotations: `run REF` judges a guest by it
// before fetching the module. A module with an object that cannot be
// analysed is not pushed: the runtime would refuse to load it.
func annotations(name string, wasm []byte) (map[string]string, error) {
	rep, err := inspect(name, wasm)
	if err != nil {
		return nil, err
	}
	var progs, helpers []string
	seen := map[string]bool{}
	for i, o := range rep.Objects {
		if o.Error != "" {
			return nil, fmt.Errorf("the runtime would refuse to load object %d: %s", i+1, o.Error)
		}
		for _, p := range o.Programs {
			progs = append(progs, p.Section+"/"+p.Name)
		}
		for _, h := range o.Helpers {
			if !seen[h.Name] {
				seen[h.Name] = true
				helpers = append(helpers, h.Name)
			}
		}
	}
	return map[string]string{
		oci.AnnotationPrograms:     oci.JoinList(progs),
		oci.AnnotationHelpers:      oci.JoinList(helpers),
		oci.AnnotationCapabilities: oci.JoinList(rep.Needs),
	}, nil
}

// sourceDateEpoch is the creation time reproducible builds ask for, if they
// do: the same module then pushes as the same digest.
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
	}
	return time.Unix(sec, 0), nil
}
