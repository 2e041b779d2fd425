package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/sdk/gen"
)

// genCommand is `wasm-bpf gen`: the C headers a guest is built with.
func genCommand() *cli.Command {
	return &cli.Command{
		Name:  "gen",
		Usage: "generate C headers or Go types for a guest from a BPF object",
		// The subcommands and their arguments (the help lists only names).
		UsageText: `wasm-bpf gen skeleton [--name NAME] FOO.bpf.o > foo.skel.h
wasm-bpf gen header FOO.bpf.o [TYPE...] > foo.wasm.h
wasm-bpf gen go [--package PACKAGE] FOO.bpf.o [TYPE...] > foo_bpf.go

TYPE is a type name of the object's BTF ("event", "struct event",
"union u", "enum e"); without one, the types of the maps' keys and
values and the types global pointers point to. The object must be
built with clang -g -target bpf (its BTF describes the types).`,
		Subcommands: []*cli.Command{
			{
				Name:      "skeleton",
				Usage:     "write a skeleton (foo.skel.h) embedding the object, for sdk/c/libbpf-wasm.h",
				ArgsUsage: "FOO.bpf.o",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "C name of the skeleton (default: from the file name, foo.bpf.o gives foo_bpf)"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return errors.New("gen skeleton: give one BPF object file")
					}
					path := c.Args().First()
					obj, err := loadObject(path)
					if err != nil {
						return err
					}
					name := c.String("name")
					if name == "" {
						name = gen.SkeletonName(path)
					}
					if err := gen.WriteSkeleton(c.App.Writer, obj, name); err != nil {
						return fmt.Errorf("gen skeleton %s: %w", path, err)
					}
					return nil
				},
			},
			{
				Name:      "header",
				Usage:     "write wasm32 C definitions of BTF types (default: map keys and values, and types global pointers point to)",
				ArgsUsage: "FOO.bpf.o [TYPE...]",
				Action: func(c *cli.Context) error {
					if c.NArg() < 1 {
						return errors.New("gen header: give a BPF object file")
					}
					path := c.Args().First()
					obj, err := loadObject(path)
					if err != nil {
						return err
					}
					if err := gen.WriteHeader(c.App.Writer, obj, path, c.Args().Tail()); err != nil {
						return fmt.Errorf("gen header: %w", err)
					}
					return nil
				},
			},
			{
				Name:      "go",
				Usage:     "write Go types with the kernel's layout (default: map keys and values, and types global pointers point to), global variables and typed maps, for sdk/go/wasmbpf",
				ArgsUsage: "FOO.bpf.o [TYPE...]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "package", Aliases: []string{"p"}, Value: "main", Usage: "Go package name of the file"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() < 1 {
						return errors.New("gen go: give a BPF object file")
					}
					path := c.Args().First()
					obj, err := loadObject(path)
					if err != nil {
						return err
					}
					if err := gen.WriteGo(c.App.Writer, obj, path, c.String("package"), c.Args().Tail()); err != nil {
						return fmt.Errorf("gen go: %w", err)
					}
					return nil
				},
			},
		},
	}
}

func loadObject(path string) (*gen.Object, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj, err := gen.LoadObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return obj, nil
}
