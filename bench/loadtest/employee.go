package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/intune/graphtest"
)

// employee is one simulated person: a Slack member whose email is the UPN of
// a directory user with one phone.
type employee struct {
	n      int
	user   string // Slack user id
	email  string // Slack email = the directory UPN
	im     string // the bot's IM with them
	device string // the phone's name
}

func employeeAt(n int) employee {
	u := fmt.Sprintf("U%07d", n)
	return employee{n: n, user: u, email: fmt.Sprintf("emp%07d@contoso.example", n), im: slacktest.IM(u), device: fmt.Sprintf("Phone %d", n)}
}

var employeeEmail = regexp.MustCompile(`emp(\d{7})@contoso\.example`)

// deviceKind is what an employee's phone lets the bot do.
type deviceKind int

const (
	resettable     deviceKind = iota // Android Enterprise fully managed: a work-profile temporary passcode
	contactSupport                   // Android Enterprise dedicated: refused, the helpdesk is alerted
)

// dedicatedRule is the rule (in the default table) that refuses a dedicated device.
const dedicatedRule = "rule=android-enterprise-dedicated"

// addEmployees adds employees [from, to) to the fake Slack and, when the
// session has one, to the fake Graph with their phone.
func (s *session) addEmployees(from, to int, kind deviceKind) {
	for n := from; n < to; n++ {
		e := employeeAt(n)
		s.fs.AddUser(slacktest.User{ID: e.user, Name: fmt.Sprintf("employee%d", n), Email: e.email, Locale: "en-US"})
		if s.graph == nil {
			continue
		}
		enroll := "androidEnterpriseFullyManaged"
		if kind == contactSupport {
			enroll = "androidEnterpriseDedicatedDevice"
		}
		s.graph.AddUser(graphtest.User{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), UPN: e.email, DisplayName: fmt.Sprintf("Employee %d", n)},
			graphtest.Device{
				ID: fmt.Sprintf("dev-%07d", n), Name: e.device, Model: "Pixel 8", Manufacturer: "Google",
				OperatingSystem: "Android", OSVersion: "15", OwnerType: "company", EnrollmentType: enroll,
				DeviceType: "androidEnterprise", LastSync: time.Now().Add(-time.Hour),
				// The first result read sees "pending", the second "done" with a passcode
				// (unless the session plans otherwise: unlock.go).
				Reset: s.planFor(n),
			})
	}
}

// texts are the bot's sentences the driver recognises, from the catalog.
type texts struct{ cat *catalog.Catalog }

func (t texts) say(id string, e employee) string {
	return t.cat.T("en", id, map[string]any{"Device": e.device})
}

var en = texts{catalog.MustNew("en")}

// expectPost waits for the bot's next message in the employee's IM and
// checks it with ok: a chat.postMessage, or a chat.update that ok accepts
// (passcodebot answers a click in the clicked message). Other updates (a
// clicked message losing its buttons, progress) and calls the fake refused
// (a rate limit the bot retries) are skipped; any other post is an error.
func expectPost(ctx context.Context, box *inbox, timeout time.Duration, what string, ok func(slacktest.Call) bool) (reply, error) {
	for {
		r, err := box.next(ctx, timeout)
		if err != nil {
			return r, fmt.Errorf("waiting for %s: %w", what, err)
		}
		if !r.call.OK() {
			continue // refused (a rate limit the bot retries)
		}
		switch r.call.Method {
		case "chat.update":
			if ok(r.call) {
				return r, nil // the click answered in the clicked message
			}
			continue // buttons removed, progress
		case "chat.postMessage":
		default:
			continue
		}
		if !ok(r.call) {
			return r, fmt.Errorf("waiting for %s, the bot said %q", what, clip(r.call.Text, 200))
		}
		return r, nil
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// action finds an interactive element of a call's blocks.
func action(c slacktest.Call, id string) (slacktest.Action, bool) {
	for _, a := range slacktest.BlockActions(c.Blocks) {
		if a.ActionID == id {
			return a, true
		}
	}
	return slacktest.Action{}, false
}

func hasAction(id string) func(slacktest.Call) bool {
	return func(c slacktest.Call) bool { _, ok := action(c, id); return ok }
}

func hasText(s string) func(slacktest.Call) bool {
	return func(c slacktest.Call) bool { return strings.Contains(c.Text, s) }
}

func hasBlock(id string) func(slacktest.Call) bool {
	return func(c slacktest.Call) bool { return strings.Contains(string(c.Blocks), `"block_id":"`+id+`"`) }
}

// Kinds of timed user actions.
const (
	actReset   = "reset"   // DM "reset" -> the device list
	actPick    = "pick"    // device button -> the sign-in link
	actSignIn  = "signin"  // the demo sign-in form posted -> the warning
	actConfirm = "confirm" // "Reset passcode" -> "Resetting…"
	actResult  = "result"  // "Reset passcode" -> the passcode (includes Graph's polling)
	actPing    = "ping"    // baseline: a DM -> its answer
	actOpen    = "open"    // holding: DM "reset" -> the device list
)

// chatActions are the actions that start with a Slack envelope; their reply
// times are what the baseline is compared with.
var chatActions = []string{actReset, actPick, actConfirm}

// fullReset drives one employee through a whole reset: DM, device pick,
// sign-in over HTTP, confirm, passcode and success notice.
func (s *session) fullReset(ctx context.Context, o *Options, e employee, sm *samples) error {
	box := s.routes.inbox(e.im)
	fs := s.fs

	t0 := time.Now()
	if err := s.deliver(fs.DM(e.user, "reset")); err != nil {
		return err
	}
	list, err := expectPost(ctx, box, o.Timeout, "the device list", hasAction("pcb_choice_0"))
	if err != nil {
		return err
	}
	sm.add(actReset, list.at.Sub(t0))

	env, err := fs.Click(e.user, e.im, list.call.TS, "pcb_choice_0", "")
	if err != nil {
		return err
	}
	t0 = time.Now()
	if err := s.deliver(env); err != nil {
		return err
	}
	linkMsg, err := expectPost(ctx, box, o.Timeout, "the sign-in link", hasAction("pcb_link"))
	if err != nil {
		return err
	}
	sm.add(actPick, linkMsg.at.Sub(t0))
	link, _ := action(linkMsg.call, "pcb_link")

	t0, err = signIn(link.URL, e.email)
	if err != nil {
		return err
	}
	warning, err := expectPost(ctx, box, o.Timeout, "the warning", func(c slacktest.Call) bool {
		a, ok := action(c, "pcb_button_0")
		return ok && a.Confirm != nil
	})
	if err != nil {
		return err
	}
	sm.add(actSignIn, warning.at.Sub(t0))

	env, err = fs.Click(e.user, e.im, warning.call.TS, "pcb_button_0", "")
	if err != nil {
		return err
	}
	t0 = time.Now()
	if err := s.deliver(env); err != nil {
		return err
	}
	resetting, err := expectPost(ctx, box, o.Timeout, "resetting", hasText(en.say("resetting", e)))
	if err != nil {
		return err
	}
	sm.add(actConfirm, resetting.at.Sub(t0))

	pass, err := expectPost(ctx, box, o.Timeout, "the passcode", hasBlock("pcb_secret"))
	if err != nil {
		return err
	}
	sm.add(actResult, pass.at.Sub(t0))
	if done, ok := s.graph.DoneAt(deviceIDOf(e)); ok {
		sm.add(actUnlock, pass.at.Sub(done)) // time to unlock: Graph turned done -> the passcode posted
	}
	if _, err := expectPost(ctx, box, o.Timeout, "the success notice", hasText(en.say("success", e))); err != nil {
		return err
	}
	return nil
}

// signIn follows the sign-in link as a browser does: the landing page (which
// changes nothing), its button, and the demo sign-in form as upn. It returns
// when the form was sent, the start of the wait for the warning.
func signIn(link, upn string) (time.Time, error) {
	u, err := url.Parse(link)
	if err != nil {
		return time.Time{}, err
	}
	token := strings.TrimPrefix(u.Path, "/r/")
	if err := httpDo(http.MethodGet, link, nil, `action="`); err != nil {
		return time.Time{}, err
	}
	if err := httpDo(http.MethodPost, link, url.Values{}, "/local/signin"); err != nil {
		return time.Time{}, err
	}
	t0 := time.Now()
	if err := httpDo(http.MethodPost, u.Scheme+"://"+u.Host+"/local/signin", url.Values{"token": {token}, "choice": {upn}}, ""); err != nil {
		return time.Time{}, err
	}
	return t0, nil
}

func httpDo(method, target string, form url.Values, want string) error {
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = httpClient.Get(target)
	} else {
		resp, err = httpClient.PostForm(target, form)
	}
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("%s %s: %s", method, target, resp.Status)
	}
	return nil
}

// openConversation starts a reset and leaves it at the device list, open.
func (s *session) openConversation(ctx context.Context, o *Options, e employee, sm *samples) error {
	box := s.routes.inbox(e.im)
	t0 := time.Now()
	if err := s.deliver(s.fs.DM(e.user, "reset")); err != nil {
		return err
	}
	list, err := expectPost(ctx, box, o.Timeout, "the device list", hasAction("pcb_choice_0"))
	if err != nil {
		return err
	}
	sm.add(actOpen, list.at.Sub(t0))
	return nil
}

// pings is the baseline's share: the same number of chat round trips as a
// reset has (rounds), each a DM answered by one post.
func (s *session) pings(ctx context.Context, o *Options, e employee, rounds int, sm *samples) error {
	box := s.routes.inbox(e.im)
	for i := range rounds {
		t0 := time.Now()
		if err := s.deliver(s.fs.DM(e.user, "hello "+strconv.Itoa(i))); err != nil {
			return err
		}
		r, err := expectPost(ctx, box, o.Timeout, "the baseline's answer", func(slacktest.Call) bool { return true })
		if err != nil {
			return err
		}
		sm.add(actPing, r.at.Sub(t0))
	}
	return nil
}

// deniedReset asks for a reset of a dedicated device at time at: the bot
// refuses and alerts the helpdesk. It returns when the pick was sent.
func (s *session) deniedReset(ctx context.Context, o *Options, e employee) (time.Time, error) {
	box := s.routes.inbox(e.im)
	if err := s.deliver(s.fs.DM(e.user, "reset")); err != nil {
		return time.Time{}, err
	}
	list, err := expectPost(ctx, box, o.Timeout, "the device list", hasAction("pcb_choice_0"))
	if err != nil {
		return time.Time{}, err
	}
	env, err := s.fs.Click(e.user, e.im, list.call.TS, "pcb_choice_0", "")
	if err != nil {
		return time.Time{}, err
	}
	picked := time.Now()
	if err := s.deliver(env); err != nil {
		return time.Time{}, err
	}
	_, err = expectPost(ctx, box, o.Timeout, "the refusal", hasText(en.say("denied_contact_support", e)))
	return picked, err
}

// alertBlock is a section of a helpdesk message.
type alertBlock struct {
	Type    string `json:"type"`
	BlockID string `json:"block_id"`
	Text    struct {
		Text string `json:"text"`
	} `json:"text"`
}

// alertsIn returns the employees whose alert a helpdesk post holds, and
// whether each block holds the alert in full (who, device, what, detail).
func alertsIn(c slacktest.Call, title string) (map[int]bool, error) {
	var blocks []alertBlock
	if err := json.Unmarshal(c.Blocks, &blocks); err != nil {
		return nil, err
	}
	out := map[int]bool{}
	for _, b := range blocks {
		if b.Type != "section" || !strings.HasPrefix(b.BlockID, "alert_") || b.BlockID == "alert_digest" {
			continue
		}
		m := employeeEmail.FindStringSubmatch(b.Text.Text)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		e := employeeAt(n)
		out[n] = strings.Contains(b.Text.Text, e.device) && strings.Contains(b.Text.Text, dedicatedRule) && strings.Contains(b.Text.Text, title)
	}
	return out, nil
}
