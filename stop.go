package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
)

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop guests of the agent; they stay listed, with their logs",
		ArgsUsage: "ID...",
		Flags:     []cli.Flag{socketFlag},
		Action: func(c *cli.Context) error {
			return eachGuest(c, func(id string) error {
				s, err := agentClient(c).Stop(c.Context, id)
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
