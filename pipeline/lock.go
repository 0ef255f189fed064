package pipeline

import (
	"context"

	"github.com/pipe-ml/pipe/output"
)

// folderLocks are the locks a run holds on its output folders (see
// [output.LockFolders]).
type folderLocks struct {
	held *output.Locks
}

// release releases every lock. It is safe on nil.
func (l *folderLocks) release() {
	if l == nil {
		return
	}
	l.held.Release()
}

// lockFolders takes shard sh's locks on every folder in dirs; on failure it
// holds none.
func lockFolders(dirs []string, sh Shard) (*folderLocks, error) {
	folders := make([]output.Folder, len(dirs))
	for i, d := range dirs {
		folders[i] = folderAt(d)
	}
	l, err := output.LockFolders(context.Background(), folders, sh.outputShard())
	if err != nil {
		return nil, err
	}
	return &folderLocks{held: l}, nil
}

// outputShard returns the shard as the output protocol names it.
func (s Shard) outputShard() output.Shard { return output.Shard{Index: s.Index, Count: s.count()} }
