package resetflowtest

import (
	"context"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/shell"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Shell drives the kit's engine through the terminal chat (adapters/shell),
// the way a person at the terminal would: Type a line, Wait for the bot's answer.
type Shell struct {
	Out *Buffer // everything the terminal printed
	in  *io.PipeWriter
}

// WithShell puts the terminal chat, signed in as user, in front of the engine.
// The engine's messages go to the terminal and to the kit's Chat as well.
func WithShell(user string) Option {
	return func(k *Kit, _ *resetflow.Config, deps *resetflow.Deps) {
		r, w := io.Pipe()
		k.Shell = &Shell{Out: &Buffer{}, in: w}
		var users []string
		for _, u := range k.Fleet.Users() {
			users = append(users, u.UPN)
		}
		ad := shell.New(r, k.Shell.Out, k.Catalog, k.Catalog.Default(), time.UTC, user, users)
		deps.Messenger = tee{deps.Messenger, ad}
		k.startShell = func(t testing.TB, h resetflow.Handler) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = ad.Run(ctx, h); close(done) }()
			t.Cleanup(func() { cancel(); w.Close(); <-done })
		}
	}
}

// Type writes a line to the terminal.
func (s *Shell) Type(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		t.Fatalf("typing %q: %v", line, err)
	}
}

// Wait waits until the terminal has printed a match of re and returns the
// first match; it fails the test after ten seconds.
func (s *Shell) Wait(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, ok := s.Out.Wait(ctx, re.MatchString)
	if !ok {
		t.Fatalf("the terminal never printed %v:\n%s", re, out)
	}
	return re.FindStringSubmatch(out)
}

// advanceWithin is how far ahead a timer may be for WaitAdvancing to move the
// clock to it: the result polls (at most PollMax, 30 s), never a step's window
// (5 minutes), so a slow machine cannot run a window out before the engine
// has taken the input and armed its poll.
const advanceWithin = 30 * time.Second

// WaitAdvancing is Wait while time passes: whenever the engine waits on the
// clock for at most advanceWithin (the polls for the outcome), the clock moves
// on to that moment, until the terminal prints a match of re.
func (s *Shell) WaitAdvancing(t testing.TB, clk *clock.Fake, re *regexp.Regexp) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found := make(chan string, 1)
	go func() {
		out, _ := s.Out.Wait(ctx, re.MatchString)
		found <- out
	}()
	for {
		due := make(chan time.Time, 1)
		go func() { due <- clk.WaitForDue(advanceWithin) }()
		select {
		case out := <-found:
			if !re.MatchString(out) {
				t.Fatalf("the terminal never printed %v:\n%s", re, out)
			}
			return re.FindStringSubmatch(out)
		case at := <-due:
			clk.Advance(at.Sub(clk.Now()))
		}
	}
}

// tee sends every message to each messenger in turn.
type tee []resetflow.Messenger

func (t tee) Send(ctx context.Context, to resetflow.Address, m resetflow.Message) error {
	for _, s := range t {
		if err := s.Send(ctx, to, m); err != nil {
			return err
		}
	}
	return nil
}
