package main

import (
	"errors"
	"fmt"
	"os"
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
			// What the module asks of the kernel goes in the manifest's
			// annotations, under oci.AnnotationPrefix.
			d, err := client.Push(c.Context, wasm, ref, oci.PushOptions{Created: created})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "Pushed %s\nDigest: %s\n", ref, d.DigestStr())
			return nil
		},
	}
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
