package app

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// chatLines collects the terminal chat's lines as they come.
type chatLines struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

func readLines(r io.Reader) *chatLines {
	c := &chatLines{more: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
			select {
			case c.more <- struct{}{}:
			default:
			}
		}
	}()
	return c
}

// next waits for a line from *i on matching re and returns its submatches.
func (c *chatLines) next(t *testing.T, i *int, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		for ; *i < len(c.lines); *i++ {
			if m := re.FindStringSubmatch(c.lines[*i]); m != nil {
				*i++
				c.mu.Unlock()
				return m
			}
		}
		all := strings.Join(c.lines, "\n")
		c.mu.Unlock()
		select {
		case <-c.more:
		case <-deadline:
			t.Fatalf("no line matching %s; chat so far:\n%s", re, all)
		}
	}
}

// TestShellFourActions: in the terminal a reset takes four actions: write
// "reset", open the device's link (it picks the device and opens the sign-in),
// sign in, pick "Reset passcode". GETs of every link the chat shows change nothing.
func TestShellFourActions(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.yaml")
	cfg := "audit: {file: '" + filepath.Join(dir, "a.db") + "'}\nhttp: {listen: '127.0.0.1:0'}\nfleet: {delay: 0s}\nreset: {poll_first: 10ms, poll_max: 50ms}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		var errOut strings.Builder
		done <- Main(ctx, []string{"-config", cfgPath}, inR, outW, &errOut, func(string) string { return "" })
		outW.Close()
	}()
	defer func() {
		inW.Close()
		cancel()
		<-done
	}()
	out := readLines(outR)
	say := func(s string) { io.WriteString(inW, s+"\n") }
	var actions []string
	i := 0

	out.next(t, &i, regexp.MustCompile(`You are alice@contoso\.example`))
	actions = append(actions, "write reset")
	say("reset")
	out.next(t, &i, regexp.MustCompile(`\] Alice's Pixel 8 — `))
	pixel := out.next(t, &i, regexp.MustCompile(`^\s+or open this link to pick it and sign in: (http://\S+\?d=\d)$`))[1]

	// Link previews: every link shown, twice. Then a barrier: the next thing the
	// chat says is the answer to "help", so the previews said nothing.
	c := &http.Client{Timeout: 10 * time.Second}
	get := func(u string) string {
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", u, res.Status)
		}
		return string(b)
	}
	out.mu.Lock()
	var links []string
	for _, l := range out.lines {
		if m := regexp.MustCompile(`(http://127\.0\.0\.1:\d+/r/\S+)`).FindStringSubmatch(l); m != nil {
			links = append(links, m[1])
		}
	}
	out.mu.Unlock()
	if len(links) < 2 {
		t.Fatalf("links shown: %q", links)
	}
	for _, l := range links {
		get(l)
		get(l)
	}
	say("help")
	first := i
	out.next(t, &i, regexp.MustCompile(`Company Portal`))
	out.mu.Lock()
	between := out.lines[first : i-1]
	out.mu.Unlock()
	for _, l := range between {
		if strings.HasPrefix(l, "bot> ") {
			t.Errorf("a link preview made the bot say %q", l)
		}
	}

	actions = append(actions, "open the Pixel's link")
	if page := get(pixel); !strings.Contains(page, "document.forms[0].submit()") {
		t.Fatalf("the device link's page does not go on by itself:\n%s", page)
	}
	res, err := c.PostForm(pixel, url.Values{}) // what the page does by itself
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(res.Body)
	res.Body.Close()
	tok := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(string(form))
	if tok == nil {
		t.Fatalf("no sign-in form:\n%s", form)
	}
	base := pixel[:strings.Index(pixel, "/r/")]

	actions = append(actions, "sign in")
	res, err = c.PostForm(base+"/local/signin", url.Values{"token": {tok[1]}, "choice": {"alice@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	reset := out.next(t, &i, regexp.MustCompile(`^\s+\[(\d)\] Reset passcode$`))

	actions = append(actions, "pick Reset passcode")
	say(reset[1])
	out.next(t, &i, regexp.MustCompile(`^\s+Temporary passcode: [A-Za-z0-9]{8}$`))
	out.next(t, &i, regexp.MustCompile(`Done: the passcode of Alice's Pixel 8 was reset successfully`))
	if len(actions) != 4 {
		t.Errorf("%d actions: %q; want 4", len(actions), actions)
	}
}
