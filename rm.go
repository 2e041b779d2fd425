package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func rmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "stop guests started through the agent's API and forget them (guests of the guest file leave with their entry)",
		ArgsUsage: "ID...",
		Flags:     []cli.Flag{socketFlag},
		Action: func(c *cli.Context) error {
			return eachGuest(c, func(id string) error {
				err := agentClient(c).Remove(c.Context, id)
				if err == nil {
					fmt.Fprintln(c.App.Writer, id)
				}
				return err
			})
		},
	}
}
