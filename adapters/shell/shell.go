// Package shell is the terminal as a chat, like Hubot's shell adapter: you type
// as a demo user, the bot's choices appear numbered, links are printed, and
// helpdesk alerts appear marked as such. It reads a pipe as well as a terminal,
// so a script can drive a whole reset.
package shell

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Adapter is the terminal chat.
type Adapter struct {
	in      io.Reader
	out     io.Writer
	cat     *catalog.Catalog
	locale  string
	loc     *time.Location
	users   []string // demo users, for the welcome line
	mu      sync.Mutex
	user    string
	options []string // action values of the latest interactive message, numbered from 1

	// Prompt, when set (an interactive terminal), shows "you> " while the bot waits
	// for a line; output arriving meanwhile clears the prompt line and redraws it after.
	Prompt bool
	// Note is printed under the welcome (where the logs go, say).
	Note     string
	prompted bool

	// The last block printed, when it was a progress message (Message.Replace):
	// on a terminal the next update of the same key is drawn over it.
	lastReplace string
	lastLines   int
}

// New returns a terminal chat reading in and writing out as user.
func New(in io.Reader, out io.Writer, cat *catalog.Catalog, locale string, loc *time.Location, user string, users []string) *Adapter {
	return &Adapter{in: in, out: out, cat: cat, locale: locale, loc: loc, user: user, users: users}
}

// Platform is "shell".
func (a *Adapter) Platform() string { return "shell" }

// Run reads lines until end of input or ctx ends. Each line is handled in order.
func (a *Adapter) Run(ctx context.Context, h resetflow.Handler) error {
	a.printf("%s\n", a.cat.T(a.locale, "shell_welcome", map[string]any{"User": a.currentUser(), "Users": strings.Join(a.users, ", ")}))
	if a.Note != "" {
		a.printf("%s\n", a.Note)
	}
	a.prompt()
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(a.in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			return err
		case line := <-lines:
			a.mu.Lock()
			a.prompted = false
			a.mu.Unlock()
			line = strings.TrimSpace(line)
			if line == "" {
				a.prompt()
				continue
			}
			if isLeave(line) {
				// Leaving the terminal: an open conversation is cancelled first.
				a.mu.Lock()
				open := a.options != nil
				a.mu.Unlock()
				if open {
					h.Handle(ctx, a.input("cancel"))
				}
				a.printf("%s\n", a.cat.T(a.locale, "shell_bye"))
				return nil
			}
			if rest, ok := strings.CutPrefix(line, "/as "); ok {
				a.mu.Lock()
				a.user = strings.TrimSpace(rest)
				a.options = nil
				a.mu.Unlock()
				a.printf("%s\n", a.cat.T(a.locale, "shell_you_are", map[string]any{"User": a.currentUser()}))
				a.prompt()
				continue
			}
			h.Handle(ctx, a.input(line))
			a.prompt()
		}
	}
}

func (a *Adapter) currentUser() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.user
}

// input turns a typed line into an Input: a number picks an option of the latest message.
func (a *Adapter) input(line string) resetflow.Input {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := resetflow.Input{From: resetflow.Address{Platform: "shell", UserID: a.user}, Email: a.user, Locale: "", Text: line}
	if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(a.options) {
		in.Text, in.Action = "", a.options[n-1]
	}
	return in
}

// Send prints a message. The terminal is the requester's own, so a secret may appear here.
func (a *Adapter) Send(_ context.Context, to resetflow.Address, m resetflow.Message) error {
	var b strings.Builder
	for _, line := range strings.Split(m.Text, "\n") {
		fmt.Fprintf(&b, "bot> %s\n", line)
	}
	var opts []string
	for _, c := range m.Choices {
		opts = append(opts, c.Value)
		fmt.Fprintf(&b, "  [%d] %s — %s\n", len(opts), c.Label, c.Detail)
		if c.URL != "" {
			fmt.Fprintf(&b, "      %s: %s\n", a.cat.T(a.locale, "shell_pick_link"), c.URL)
		}
	}
	for _, btn := range m.Buttons {
		opts = append(opts, btn.Value)
		fmt.Fprintf(&b, "  [%d] %s\n", len(opts), btn.Label)
	}
	if m.Link != nil {
		fmt.Fprintf(&b, "  %s: %s\n", a.cat.T(a.locale, "shell_open_link"), m.Link.URL)
	}
	if m.Secret != nil {
		fmt.Fprintf(&b, "  %s: %s\n", m.Secret.Label, m.Secret.Reveal())
	}
	if m.Notice != "" {
		fmt.Fprintf(&b, "  (%s)\n", m.Notice)
	}
	a.mu.Lock()
	if m.Interactive() {
		a.options = opts
	} else if m.Link == nil {
		a.options = nil
	}
	a.mu.Unlock()
	a.print(b.String(), m.Replace, m.Final)
	return nil
}

// print writes a block. On a terminal, an update of the progress message printed
// last (same Replace key) is drawn over it instead of below it; a pipe gets every
// update as new lines, so a script reads them all.
func (a *Adapter) print(block, replace string, final bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.prompted {
		io.WriteString(a.out, "\r\033[K") // clear the prompt line; redrawn below
	}
	if a.Prompt && replace != "" && replace == a.lastReplace && a.lastLines > 0 {
		fmt.Fprintf(a.out, "\033[%dA\r\033[J", a.lastLines) // up over the last block, clear to the end
	}
	io.WriteString(a.out, block)
	a.lastReplace, a.lastLines = "", 0
	if replace != "" && !final {
		a.lastReplace, a.lastLines = replace, strings.Count(block, "\n")
	}
	if a.prompted {
		io.WriteString(a.out, promptText)
	}
}

// PostAlerts prints helpdesk alerts, marked as such. They never carry a passcode.
func (a *Adapter) PostAlerts(_ context.Context, alerts []resetflow.Alert) error {
	var b strings.Builder
	for _, al := range alerts {
		loc := a.locale
		dev := a.cat.T(loc, "alert_none")
		if al.Device != nil {
			dev = fmt.Sprintf("%s (%s %s, %s %s)", al.Device.Name, al.Device.Maker, al.Device.Model, al.Device.OS, al.Device.OSVersion)
		}
		fmt.Fprintf(&b, "[%s] %s | %s: %s | %s: %s | %s: %s | %s: %s\n",
			a.cat.T(loc, "alert_banner"), a.cat.T(loc, "alert_title_"+string(al.Kind)),
			a.cat.T(loc, "alert_who"), al.User.UPN,
			a.cat.T(loc, "alert_device"), dev,
			a.cat.T(loc, "alert_when"), al.Time.In(a.loc).Format("2006-01-02 15:04:05 MST"),
			a.cat.T(loc, "alert_detail"), al.Detail)
	}
	a.printf("%s", b.String())
	return nil
}

func (a *Adapter) printf(format string, args ...any) {
	a.print(fmt.Sprintf(format, args...), "", false)
}

const promptText = "you> "

// prompt shows "you> " on a terminal.
func (a *Adapter) prompt() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Prompt && !a.prompted {
		io.WriteString(a.out, promptText)
		a.prompted = true
	}
}

// isLeave reports a line that leaves the terminal chat.
func isLeave(line string) bool {
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "exit", "quit", "/exit", "/quit", "終了":
		return true
	}
	return false
}
