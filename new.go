package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/sdk"
)

// newCommand is `wasm-bpf new NAME [--lang c|go|rust] [DIR]`: a new tool's
// skeleton, out of the tree, that `make` builds with the installed
// wasm-bpf.
func newCommand() *cli.Command {
	var langs []string
	for _, l := range sdk.Languages {
		langs = append(langs, fmt.Sprintf("%s: %s", l.Name, l.Usage))
	}
	return &cli.Command{
		Name:      "new",
		Usage:     "write a new tool: a BPF program, a guest that prints what it reports, and a Makefile that builds it",
		ArgsUsage: "NAME [--lang " + strings.Join(sdk.LanguageNames(), "|") + "] [DIR]",
		Description: "Writes DIR (default ./NAME) with the kernel half NAME.bpf.c, the guest, the SDK of this\n" +
			"wasm-bpf and a Makefile; then: cd DIR && make && sudo wasm-bpf NAME.wasm\n\n" +
			"--lang (default c):\n   " + strings.Join(langs, "\n   "),
		// --lang may follow NAME, which urfave/cli's flag parsing stops at.
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			lang := "c"
			var args []string
			in := c.Args().Slice()
			for i := 0; i < len(in); i++ {
				switch a := in[i]; {
				case a == "-h" || a == "--help":
					cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, c.Command)
					return nil
				case a == "--lang" || a == "-l":
					if i+1 == len(in) {
						return errors.New("new: --lang needs a language")
					}
					i++
					lang = in[i]
				case strings.HasPrefix(a, "--lang="):
					lang = strings.TrimPrefix(a, "--lang=")
				case strings.HasPrefix(a, "-") && a != "-":
					return fmt.Errorf("new: unknown flag %s", a)
				default:
					args = append(args, a)
				}
			}
			if len(args) < 1 || len(args) > 2 {
				return fmt.Errorf("new: give a tool NAME and optionally a DIR (wasm-bpf new NAME [--lang %s] [DIR])", strings.Join(sdk.LanguageNames(), "|"))
			}
			name, dir := args[0], args[0]
			if len(args) == 2 {
				dir = args[1]
			}
			wrote, err := sdk.New(dir, name, lang)
			if err != nil {
				return fmt.Errorf("new: %w", err)
			}
			w := c.App.Writer
			fmt.Fprintf(w, "wrote %s (%s):\n", dir, lang)
			var sdkDirs []string
			for _, l := range sdk.Languages {
				if l.Name == lang {
					for _, to := range l.SDK {
						sdkDirs = append(sdkDirs, to)
					}
				}
			}
			for _, f := range wrote {
				if !slices.ContainsFunc(sdkDirs, func(d string) bool { return strings.HasPrefix(f, d+"/") }) {
					fmt.Fprintf(w, "  %s\n", f)
				}
			}
			for _, d := range sdkDirs {
				fmt.Fprintf(w, "  %s/ (the SDK of this wasm-bpf)\n", d)
			}
			fmt.Fprintf(w, "next:\n  cd %s && make && sudo wasm-bpf %s.wasm\n", filepath.Clean(dir), name)
			return nil
		},
	}
}
