package output_test

import (
	"testing"

	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/output/foldertest"
)

// TestLocalFolderContract runs the storage seam's contract against a local
// directory.
func TestLocalFolderContract(t *testing.T) {
	foldertest.Run(t, func(t *testing.T) output.Folder { return output.Local(t.TempDir()) })
}
