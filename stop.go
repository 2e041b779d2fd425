package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/agent"
)

func stopCommand() *cli.Command {
	return guestCommand("stop", "stop guests of the agent; they stay listed, with their logs", (*agent.Client).Stop)
}

// guestCommand is a client command that acts on each guest it is given
// and prints the state the agent answers with.
func guestCommand(name, usage string, act func(*agent.Client, context.Context, string) (agent.Status, error)) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "ID...",
		Flags:     []cli.Flag{socketFlag},
		Action: func(c *cli.Context) error {
			return eachGuest(c, func(id string) error {
				s, err := act(agentClient(c), c.Context, id)
				if err == nil {
					fmt.Fprintf(c.App.Writer, "%s %s\n", s.ID, s.State)
				}
				return err
			})
		},
	}
}

// eachGuest calls f for each ID argument, going on after a failure.
func eachGuest(c *cli.Context, f func(id string) error) error {
	if c.NArg() == 0 {
		return errors.New("no guest given: wasm-bpf ps lists them")
	}
	var errs []error
	for _, id := range c.Args().Slice() {
		if err := f(id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
