package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/sdk/gen"
)

// genCommand is `wasm-bpf gen`: the C headers, Go or Rust types a guest is
// built with.
func genCommand() *cli.Command {
	return &cli.Command{
		Name:  "gen",
		Usage: "generate C headers, Go types or Rust types for a guest from a BPF object",
		// The subcommands and their arguments (the help lists only names).
		UsageText: `wasm-bpf gen skeleton [--name NAME] FOO.bpf.o > foo.skel.h
wasm-bpf gen header FOO.bpf.o [TYPE...] > foo.wasm.h
wasm-bpf gen go [--package PACKAGE] FOO.bpf.o [TYPE...] > foo_bpf.go
wasm-bpf gen rust FOO.bpf.o [TYPE...] > src/bpf.rs

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
				Action: typesAction("header", func(c *cli.Context, obj *gen.Object, path string, types []string) error {
					return gen.WriteHeader(c.App.Writer, obj, path, types)
				}),
			},
			{
				Name:      "go",
				Usage:     "write Go types with the kernel's layout (default: map keys and values, and types global pointers point to), global variables and typed maps, for sdk/go/wasmbpf",
				ArgsUsage: "FOO.bpf.o [TYPE...]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "package", Aliases: []string{"p"}, Value: "main", Usage: "Go package name of the file"},
				},
				Action: typesAction("go", func(c *cli.Context, obj *gen.Object, path string, types []string) error {
					return gen.WriteGo(c.App.Writer, obj, path, c.String("package"), types)
				}),
			},
			{
				Name:      "rust",
				Usage:     "write a Rust module with the kernel's layout (default: map keys and values, and types global pointers point to), global variable setters and typed maps, for the wasm-bpf crate (sdk/rust)",
				ArgsUsage: "FOO.bpf.o [TYPE...]",
				Action: typesAction("rust", func(c *cli.Context, obj *gen.Object, path string, types []string) error {
					return gen.WriteRust(c.App.Writer, obj, path, types)
				}),
			},
		},
	}
}

// typesAction is the action of a `gen` subcommand taking FOO.bpf.o
// [TYPE...]: write writes what it generates for the object.
func typesAction(name string, write func(c *cli.Context, obj *gen.Object, path string, types []string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("gen %s: give a BPF object file", name)
		}
		path := c.Args().First()
		obj, err := loadObject(path)
		if err != nil {
			return err
		}
		if err := write(c, obj, path, c.Args().Tail()); err != nil {
			return fmt.Errorf("gen %s: %w", name, err)
		}
		return nil
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
