package app

import "runtime/debug"

// Version is the program's version, stamped at build time (see the Dockerfile):
//
//	go build -ldflags "-X github.com/passcodebot/passcodebot/internal/app.Version=1.4.0" ./cmd/passcodebot
var Version = "dev"

// version is Version, or for an unstamped build the VCS revision Go recorded.
func version() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev+" + s.Value[:12]
			}
		}
	}
	return Version
}
