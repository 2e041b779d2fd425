package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/oci"
)

// generateKeyPairCommand is `wasm-bpf generate-key-pair`: what `cosign
// generate-key-pair` writes, for `sign` and `run --verify-key`, so that
// signing needs no other tool. The keys work with cosign too.
func generateKeyPairCommand() *cli.Command {
	return &cli.Command{
		Name:  "generate-key-pair",
		Usage: "write a cosign key pair: PREFIX.key (ECDSA P-256, encrypted with $COSIGN_PASSWORD or a password asked for) and PREFIX.pub",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output-key-prefix", Value: "cosign", Usage: "write `PREFIX`.key and PREFIX.pub"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return errors.New("generate-key-pair takes no arguments")
			}
			prefix := c.String("output-key-prefix")
			for _, f := range []string{prefix + ".key", prefix + ".pub"} {
				if _, err := os.Stat(f); err == nil {
					return fmt.Errorf("generate-key-pair: %s exists; not overwriting it", f)
				}
			}
			priv, pub, err := oci.GenerateKeyPair(keyPassword(c, true))
			if err != nil {
				return fmt.Errorf("generate-key-pair: %w", err)
			}
			if err := os.WriteFile(prefix+".key", priv, 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(prefix+".pub", pub, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "Private key written to %s.key\nPublic key written to %s.pub\n", prefix, prefix)
			return nil
		},
	}
}
