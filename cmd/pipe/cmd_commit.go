package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pipe-ml/pipe/output"
	_ "github.com/pipe-ml/pipe/output/s3folder" // s3:// outputs
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
				f, err := openOutput(cmd.Context(), dir)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				m, err := output.CommitOutput(cmd.Context(), f)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(g.stdout, "%s: committed %d files, %d rows (fingerprint %s)\n", dir, len(m.Files), m.Rows, m.Fingerprint)
			}
			err := errors.Join(errs...)
			if errors.Is(err, output.ErrNoShards) {
				for _, dir := range args {
					if f, oerr := openOutput(cmd.Context(), dir); oerr == nil && output.Complete(cmd.Context(), f) {
						return fmt.Errorf("%w; %s already holds %s", err, dir, stages.SuccessFile)
					}
				}
			}
			return err
		},
	}
}

// openOutput opens the output folder at location: a local path (cleaned)
// or a URL such as s3://bucket/prefix.
func openOutput(ctx context.Context, location string) (output.Folder, error) {
	if output.Scheme(location) == "" {
		location = filepath.Clean(location)
	}
	return output.Open(ctx, location)
}
