package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/oci"
)

// pullCommand is `wasm-bpf pull`: a guest into the local store, so that it
// runs offline (by digest, or by tag with --pull missing or never).
func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "fetch a guest from a registry into the local store ($XDG_CACHE_HOME/wasm-bpf/oci)",
		ArgsUsage: "REF",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "verify-key", Usage: "require a cosign signature by the public key in `FILE`"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "also write the module to `FILE`"},
			insecureFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("pull: give one reference (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:...)")
			}
			client, err := newOCIClient(c, nil)
			if err != nil {
				return err
			}
			opts := oci.PullOptions{Policy: oci.PullAlways}
			if k := c.String("verify-key"); k != "" {
				if opts.VerifyKey, err = loadVerifyKey(k); err != nil {
					return err
				}
			}
			g, err := client.Pull(c.Context, c.Args().First(), opts)
			if err != nil {
				return err
			}
			if out := c.String("output"); out != "" {
				if err := os.WriteFile(out, g.Wasm, 0o644); err != nil {
					return err
				}
			}
			w := c.App.Writer
			fmt.Fprintf(w, "Pulled %s\nDigest: %s\n", c.Args().First(), g.Ref.DigestStr())
			for _, kv := range oci.Label(g.Annotations) {
				fmt.Fprintf(w, "%s%s: %s\n", strings.ToUpper(kv[0][:1]), kv[0][1:], kv[1])
			}
			return nil
		},
	}
}
