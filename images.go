package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/oci"
)

// imagesCommand is `wasm-bpf images`: the guests in the local store.
func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:  "images",
		Usage: "list the guests in the local store: reference, manifest digest, module size, capabilities asked for",
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return errors.New("images takes no arguments")
			}
			client, err := newOCIClient(c, nil)
			if err != nil {
				return err
			}
			guests, err := client.Store.Guests()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "REFERENCE\tDIGEST\tSIZE\tCAPABILITIES")
			for _, g := range guests {
				size, caps := "corrupt", "?"
				if g.Err == nil {
					size = fmt.Sprintf("%d", g.Module.Size)
					caps = g.Annotations[oci.AnnotationCapabilities]
					if caps == "" {
						caps = "-"
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", g.Ref, g.Manifest.Digest, size, caps)
			}
			return w.Flush()
		},
	}
}
