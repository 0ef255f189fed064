package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
)

func newCommitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "commit OUTPUT...",
		Short: "Mark a sharded output folder complete once every shard is done",
		Long: `Commit checks the shard manifests in an output folder (_pipe_shards/) and,
when every shard of one job has finished and their manifests agree (same job
fingerprint, every work unit in exactly one shard, every file present with its
size), writes the folder's _manifest.json, removes part files no shard lists,
and writes _SUCCESS. Otherwise it names the missing shards and exits 1.

The last shard of a run to finish commits by itself; pipe commit is for
finishing by hand, for example after shards ran where they could not see each
other's manifests.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var errs []error
			for _, dir := range args {
				m, err := output.CommitOutput(cmd.Context(), output.Local(filepath.Clean(dir)))
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(g.stdout, "%s: committed %d files, %d rows (fingerprint %s)\n", dir, len(m.Files), m.Rows, m.Fingerprint)
			}
			err := errors.Join(errs...)
			if errors.Is(err, output.ErrNoShards) {
				for _, dir := range args {
					if _, serr := os.Stat(filepath.Join(dir, stages.SuccessFile)); serr == nil {
						return fmt.Errorf("%w; %s already holds %s", err, dir, stages.SuccessFile)
					}
				}
			}
			return err
		},
	}
}
