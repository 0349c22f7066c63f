package slack_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
)

var hiddenToken = regexp.MustCompile(`name="token" value="([^"]+)"`)

// browserGet fetches a page as a link preview (or the browser's first load) does.
func browserGet(t *testing.T, link string) string {
	t.Helper()
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", link, res.Status)
	}
	return string(b)
}

// TestFourActionsToThePasscode: on Slack a reset takes four actions of the
// person: write "reset", click the device (its button also opens the sign-in in
// the browser), sign in, click "Reset passcode". Link previews of every link the
// flow shows change nothing.
func TestFourActionsToThePasscode(t *testing.T) {
	e := start(t, options{})
	im := slacktest.IM(alice)
	var actions []string
	act := func(what string) { actions = append(actions, what) }

	act("write reset")
	e.Deliver(e.fs.DM(alice, "reset"))
	list := e.WaitMessage(im, "device list", slacktest.HasAction("pcb_choice_1"))
	pixel := list.Action("pcb_choice_1")
	if !strings.HasPrefix(pixel.URL, e.base+"/r/") || !strings.Contains(pixel.URL, "?d=2") {
		t.Fatalf("the device button does not open the sign-in: %+v", pixel)
	}

	// Previews of the device links change nothing: no message, no pick.
	posts := len(e.fs.Messages(im))
	for _, a := range list.Actions() {
		if a.URL != "" {
			for range 2 {
				if page := browserGet(t, a.URL); !strings.Contains(page, "document.forms[0].submit()") {
					t.Fatalf("the device link's page does not go on by itself:\n%s", page)
				}
			}
		}
	}
	if n := len(e.fs.Messages(im)); n != posts {
		t.Fatalf("a preview of a device link posted %d messages", n-posts)
	}

	act("click the Pixel")
	e.Click(alice, list, "pcb_choice_1", "")
	browserGet(t, pixel.URL)                           // the browser opens the button's URL
	res, err := http.PostForm(pixel.URL, url.Values{}) // and the page submits itself
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(res.Body)
	res.Body.Close()
	tok := hiddenToken.FindStringSubmatch(string(form))
	if res.StatusCode != http.StatusOK || tok == nil || !strings.Contains(string(form), "/local/signin") {
		t.Fatalf("the device link did not open the sign-in: %s\n%s", res.Status, form)
	}

	// The chat's own sign-in link (for a person who picked in the chat) is the same
	// window; its preview changes nothing either.
	linkMsg := e.WaitMessage(im, "sign-in link", slacktest.HasAction("pcb_link"))
	link := linkMsg.Action("pcb_link").URL
	if !strings.HasSuffix(link, "/r/"+tok[1]) {
		t.Errorf("the chat's link %q and the browser's sign-in (%s) are different windows", link, tok[1])
	}
	posts = len(e.fs.Messages(im))
	browserGet(t, link)
	browserGet(t, link)
	if n := len(e.fs.Messages(im)); n != posts {
		t.Fatalf("a preview of the sign-in link posted %d messages%s", n-posts, slacktest.Dump(e.fs.Messages(im)))
	}

	act("sign in")
	res, err = http.PostForm(e.base+"/local/signin", url.Values{"token": {tok[1]}, "choice": {"alice@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	warning := e.WaitMessage(im, "warning", slacktest.HasText("Warning: after the passcode"))

	act("click Reset passcode")
	e.Click(alice, warning, "pcb_button_0", "")
	pass := e.finishReset()
	if len(slacktest.PasscodeOf(t, pass)) != 8 {
		t.Fatalf("no passcode")
	}
	if len(actions) != 4 {
		t.Errorf("%d actions from reset to the passcode: %q; want 4", len(actions), actions)
	}
	if got := e.fleet.Resets(); got != 1 {
		t.Errorf("fleet resets = %d", got)
	}
}
