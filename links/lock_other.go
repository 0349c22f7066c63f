//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package links

// lockFile is a no-op where advisory file locks are not available: the table
// is then safe within one process only.
func lockFile(string, bool) (func(), error) { return func() {}, nil }
