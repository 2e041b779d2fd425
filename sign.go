package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/oci"
)

// signCommand is `wasm-bpf sign`: a cosign signature of a guest in a
// registry, by a key pair, without a transparency log.
func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a guest in a registry with a cosign private key (the password from $COSIGN_PASSWORD or the terminal)",
		ArgsUsage: "REF",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Required: true, Usage: "cosign private key `FILE` (cosign.key, from `wasm-bpf generate-key-pair` or `cosign generate-key-pair`)"},
			insecureFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("sign: give one reference (REGISTRY/REPO:TAG or @sha256:...)")
			}
			pem, err := os.ReadFile(c.String("key"))
			if err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			key, err := oci.LoadPrivateKey(pem, keyPassword(c, false))
			if err != nil {
				return fmt.Errorf("sign: %s: %w", c.String("key"), err)
			}
			client, err := newOCIClient(c, nil)
			if err != nil {
				return err
			}
			d, tag, err := client.Sign(c.Context, c.Args().First(), key)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "Signed %s\nSignature: %s\n", d, tag)
			return nil
		},
	}
}

// keyPassword gives a private key's password as cosign does: from
// $COSIGN_PASSWORD, else asked for on the terminal.
func keyPassword(c *cli.Context, confirm bool) func(bool) ([]byte, error) {
	return func(bool) ([]byte, error) {
		if pw, ok := os.LookupEnv("COSIGN_PASSWORD"); ok {
			return []byte(pw), nil
		}
		pw, err := readSecret(c, "Enter password for private key: ")
		if err != nil {
			return nil, fmt.Errorf("%w: set COSIGN_PASSWORD", err)
		}
		if confirm {
			again, err := readSecret(c, "Enter password for private key again: ")
			if err != nil {
				return nil, err
			}
			if string(again) != string(pw) {
				return nil, errors.New("the passwords differ")
			}
		}
		return pw, nil
	}
}
