package coreml

import (
	"fmt"
	"os"
)

// installCompiled moves a freshly compiled model folder, staging, to its
// final name in the same cache folder with one rename, so that no reader
// ever sees a partial .mlmodelc. When final already exists (another process
// compiled the same model first), staging is removed and final is kept:
// Core ML's on-device Neural Engine cache is tied to the compiled model's
// location, so a stable folder must not be replaced.
func installCompiled(staging, final string) error {
	if _, err := os.Stat(final); err == nil {
		return os.RemoveAll(staging)
	}
	if err := os.Rename(staging, final); err != nil {
		if _, statErr := os.Stat(final); statErr == nil {
			return os.RemoveAll(staging)
		}
		return fmt.Errorf("install compiled model: %w", err)
	}
	return nil
}
