package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pipe-ml/pipe/stages/source"
)

func newInspectCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect PATH",
		Short: "Describe a data file: format, schema, rows",
		Long: `Describe a data file: its format (Parquet, Arrow IPC file or stream, CSV,
JSON lines), its schema, and a line "rows: N" with its row count (from the
footer for Parquet, by reading for the others).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := source.Inspect(args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(g.stdout, info.String())
			return err
		},
	}
}
