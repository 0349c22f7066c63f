// Command passcodebot is the chat-ops bot that resets a forgotten phone passcode
// through Intune. With no flags it runs the embedded default: a terminal chat, a
// demo fleet and a demo sign-in, no accounts and no internet.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/passcodebot/passcodebot/cmd/passcodebot/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
