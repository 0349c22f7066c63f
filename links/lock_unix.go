//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package links

import (
	"os"
	"syscall"
)

// lockFile takes an advisory lock on path (shared, or exclusive when write)
// and returns its release. Other processes that use this package wait for it.
func lockFile(path string, write bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if write {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
