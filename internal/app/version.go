package app

// Version is the program's version, stamped at build time (see the Dockerfile):
//
//	go build -ldflags "-X github.com/passcodebot/passcodebot/internal/app.Version=1.4.0" ./cmd/passcodebot
//
// Unstamped ("dev"), version() reports the build info instead.
var Version = "dev"
