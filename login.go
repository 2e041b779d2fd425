package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// loginCommand is `wasm-bpf login`: credentials for a registry, kept where
// `docker login` keeps them, so that docker, oras, cosign and wasm-bpf share
// them.
func loginCommand() *cli.Command {
	return &cli.Command{
		Name:      "login",
		Usage:     "log in to a registry: check the credentials and keep them in the Docker config (~/.docker/config.json or its credential helper)",
		ArgsUsage: "REGISTRY",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "user `NAME`"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from stdin (otherwise it is asked for on the terminal)"},
			insecureFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("login: give one registry (host[:port])")
			}
			user := c.String("username")
			if user == "" {
				return errors.New("login: give --username")
			}
			var pass string
			if c.Bool("password-stdin") {
				line, err := bufio.NewReader(c.App.Reader).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("login: read the password from stdin: %w", err)
				}
				pass = strings.TrimRight(line, "\r\n")
			} else {
				p, err := readSecret(c, "Password: ")
				if err != nil {
					return fmt.Errorf("login: %w (or pipe it with --password-stdin)", err)
				}
				pass = string(p)
			}
			client, err := newOCIClient(c, nil)
			if err != nil {
				return err
			}
			file, err := client.Login(c.Context, c.Args().First(), user, pass)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "Login Succeeded (Docker config %s)\n", file)
			return nil
		},
	}
}

// readSecret asks for a secret on the terminal, without echo.
func readSecret(c *cli.Context, prompt string) ([]byte, error) {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil, errors.New("stdin is not a terminal to ask for the password on")
	}
	fmt.Fprint(c.App.ErrWriter, prompt)
	p, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(c.App.ErrWriter)
	return p, err
}
