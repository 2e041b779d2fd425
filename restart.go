package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func restartCommand() *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "stop guests of the agent if they run and start them again",
		ArgsUsage: "ID...",
		Flags:     []cli.Flag{socketFlag},
		Action: func(c *cli.Context) error {
			return eachGuest(c, func(id string) error {
				s, err := agentClient(c).Restart(c.Context, id)
				if err == nil {
					fmt.Fprintf(c.App.Writer, "%s %s\n", s.ID, s.State)
				}
				return err
			})
		},
	}
}
