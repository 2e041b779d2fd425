package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func pauseCommand() *cli.Command {
	return &cli.Command{
		Name:      "pause",
		Usage:     "hold guests of the agent; their records wait in the kernel until resume",
		ArgsUsage: "ID...",
		Flags:     []cli.Flag{socketFlag},
		Action: func(c *cli.Context) error {
			return eachGuest(c, func(id string) error {
				s, err := agentClient(c).Pause(c.Context, id)
				if err == nil {
					fmt.Fprintf(c.App.Writer, "%s %s\n", s.ID, s.State)
				}
				return err
			})
		},
	}
}
