package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func resumeCommand() *cli.Command {
	return &cli.Command{
		Name:      "resume",
		Usage:     "continue paused guests of the agent",
		ArgsUsage: "ID...",
		Flags:     []cli.Flag{socketFlag},
		Action: func(c *cli.Context) error {
			return eachGuest(c, func(id string) error {
				s, err := agentClient(c).Resume(c.Context, id)
				if err == nil {
					fmt.Fprintf(c.App.Writer, "%s %s\n", s.ID, s.State)
				}
				return err
			})
		},
	}
}
