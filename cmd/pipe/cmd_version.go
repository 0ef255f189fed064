package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/pipe-ml/pipe/pipeline"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of pipe and of its main libraries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(g.stdout, "pipe %s (%s, %s/%s)\n", pipeline.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					switch d.Path {
					case "github.com/apache/arrow-go/v18", "go.yaml.in/yaml/v3", "github.com/alitto/pond/v2":
						fmt.Fprintf(g.stdout, "  %s %s\n", d.Path, d.Version)
					}
				}
			}
			return nil
		},
	}
}
