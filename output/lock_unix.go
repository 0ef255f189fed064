//go:build unix

package output

import (
	"errors"
	"os"
	"syscall"
)

// errWouldBlock is what taking a lock held by another process returns.
var errWouldBlock = syscall.EWOULDBLOCK

// lockFile takes an flock(2) lock on f, exclusive or shared, waiting for it
// when wait is set; otherwise a held lock returns errWouldBlock.
func lockFile(f *os.File, exclusive, wait bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// unlockFile releases f's lock.
func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
