package console_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// consoleEvents are the console's own audit events.
func (h *harness) consoleEvents() []resetflow.Event {
	h.t.Helper()
	evs, err := h.db.Events(context.Background(), sqlite.Filter{Step: "console"})
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func (h *harness) hasConsoleEvent(who, action string) bool {
	for _, e := range h.consoleEvents() {
		if e.ChatUser == who && e.Outcome == action && e.Platform == "console" {
			return true
		}
	}
	return false
}

// TestBrowserSignIn: a member of the helpdesk group gets in (cookie __Host-,
// HttpOnly, Secure, SameSite=Strict), so does a holder of the helpdesk app
// role; someone in neither is refused, gets no session and is in the audit trail.
func TestBrowserSignIn(t *testing.T) {
	h := newHarness(t)
	ctx := browser(t, "en")

	within(t, ctx, 60*time.Second, func(ctx context.Context) error {
		if err := h.signIn(ctx, helen); err != nil {
			return err
		}
		if got, _ := text(ctx, "#who"); got != helen.upn {
			return fmt.Errorf("signed in as %q, want %s", got, helen.upn)
		}
		if got, _ := text(ctx, "h1"); got != h.cat.T("en", "console_overview") {
			return fmt.Errorf("page %q, want the overview", got)
		}
		c, err := h.sessionCookie(ctx)
		if err != nil || c == nil {
			return fmt.Errorf("no session cookie: %v", err)
		}
		if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" || !c.Session {
			return fmt.Errorf("session cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/, a session cookie", c)
		}
		// Signing out ends the session on the server, not only in the browser.
		old := c.Value
		if err := click(ctx, "#signout"); err != nil {
			return err
		}
		if !exists(ctx, "#signin") {
			return fmt.Errorf("after signing out the page is not the sign-in")
		}
		req, _ := http.NewRequest("GET", h.url("/console/"), nil)
		req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: old})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return fmt.Errorf("the signed-out session still works: %d", resp.StatusCode)
		}
		return nil
	})
	if !h.hasConsoleEvent(helen.upn, "signin") || !h.hasConsoleEvent(helen.upn, "signout") {
		t.Errorf("sign-in and sign-out not in the audit trail: %+v", h.consoleEvents())
	}

	t.Run("app role", func(t *testing.T) {
		ctx := browser(t, "en")
		within(t, ctx, 30*time.Second, func(ctx context.Context) error {
			if err := h.signIn(ctx, roland); err != nil {
				return err
			}
			if got, _ := text(ctx, "#who"); got != roland.upn {
				return fmt.Errorf("signed in as %q, want %s", got, roland.upn)
			}
			return nil
		})
	})

	t.Run("not a member", func(t *testing.T) {
		ctx := browser(t, "ja")
		within(t, ctx, 30*time.Second, func(ctx context.Context) error {
			if err := h.signIn(ctx, mallory); err != nil {
				return err
			}
			want := h.cat.T("ja", "console_not_member", map[string]any{"User": mallory.upn})
			if got, _ := text(ctx, "#message"); got != want {
				return fmt.Errorf("refusal %q, want %q", got, want)
			}
			if c, _ := h.sessionCookie(ctx); c != nil {
				return fmt.Errorf("a refused sign-in got a session cookie")
			}
			// And the console stays closed to this browser.
			if err := load(ctx, h.url("/console/alerts")); err != nil {
				return err
			}
			if !exists(ctx, "#signin") || exists(ctx, "#kpi-requests") || exists(ctx, ".alerts li") {
				return fmt.Errorf("a non-member sees the console")
			}
			return nil
		})
		if !h.hasConsoleEvent(mallory.upn, "not_member") {
			t.Errorf("the refusal is not in the audit trail: %+v", h.consoleEvents())
		}
		if h.hasConsoleEvent(mallory.upn, "signin") {
			t.Errorf("a refused person is recorded as signed in")
		}
	})
}

// expected recomputes the overview's numbers from the audit trail itself: a
// reset is completed when its result was shown in chat (delivery "sent"), done
// but not shown for any other delivery, and its time to unlock runs from the
// confirmation to that delivery.
type expected struct {
	requests, completed int
	notShown, failed    int
	p50, p90            time.Duration
	byOS                map[string][2]int // picked, completed
	byChat              map[string]int
	escByChat           map[string]int
	unlocks             []time.Duration
}

func (h *harness) expected() expected {
	h.t.Helper()
	evs, err := h.db.Events(context.Background(), sqlite.Filter{})
	if err != nil {
		h.t.Fatal(err)
	}
	osOf := map[string]string{}
	for _, u := range []string{"alice@contoso.example", "bob@contoso.example", "dave@contoso.example"} {
		owner, _ := h.fl.LookupUser(context.Background(), u)
		devs, _ := h.fl.ListDevices(context.Background(), owner)
		for _, d := range devs {
			osOf[d.ID] = d.OS
		}
	}
	x := expected{byOS: map[string][2]int{}, byChat: map[string]int{}, escByChat: map[string]int{}}
	for _, a := range h.alerts.All() {
		x.escByChat[a.Platform]++
	}
	confirmed := map[string]time.Time{}
	for _, e := range evs {
		switch {
		case e.Step == "request":
			x.requests++
			x.byChat[e.Platform]++
		case e.Step == "eligibility":
			v := x.byOS[osOf[e.DeviceID]]
			v[0]++
			x.byOS[osOf[e.DeviceID]] = v
		case e.Step == "confirm":
			confirmed[e.Flow] = e.Time
		case e.Step == "result" && e.Outcome != "done":
			x.failed++
		case e.Step == "delivery" && e.Outcome != "sent":
			x.notShown++
		case e.Step == "delivery":
			x.completed++
			v := x.byOS[osOf[e.DeviceID]]
			v[1]++
			x.byOS[osOf[e.DeviceID]] = v
			x.unlocks = append(x.unlocks, e.Time.Sub(confirmed[e.Flow]))
		}
	}
	slices.Sort(x.unlocks)
	rank := func(p int) time.Duration {
		r := (p*len(x.unlocks) + 99) / 100
		return x.unlocks[max(r, 1)-1]
	}
	x.p50, x.p90 = rank(50), rank(90)
	return x
}

// row reads one row of a table by its data-key: the cells after the header.
func row(ctx context.Context, table, key string) ([]string, error) {
	js := `Array.from(document.querySelectorAll('#` + table + ` tr[data-key="` + key + `"] td')).map(td => td.textContent.trim())`
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
}

// TestBrowserOverview: after a scripted morning of resets the overview's
// figures, in English and in Japanese, are the audit trail's.
func TestBrowserOverview(t *testing.T) {
	h := newHarness(t)
	h.script()
	x := h.expected()
	if x.requests != 8 || x.completed != 2 || x.notShown != 1 || x.failed != 1 {
		t.Fatalf("the script made %d requests, %d completed resets, %d done but not shown, %d failed; want 8, 2, 1, 1", x.requests, x.completed, x.notShown, x.failed)
	}
	alerts := map[resetflow.AlertKind]int{}
	for _, k := range h.alerts.Kinds() {
		alerts[k]++
	}

	for _, lang := range []string{"en", "ja"} {
		t.Run(lang, func(t *testing.T) {
			ctx := browser(t, lang)
			within(t, ctx, 60*time.Second, func(ctx context.Context) error {
				if err := h.signIn(ctx, helen); err != nil {
					return err
				}
				if got, _ := text(ctx, "h1"); got != h.cat.T(lang, "console_overview") {
					return fmt.Errorf("title %q, want the overview in %s (Accept-Language)", got, lang)
				}
				want := map[string]string{
					"#kpi-requests":    strconv.Itoa(x.requests),
					"#kpi-completed":   strconv.Itoa(x.completed),
					"#kpi-rate":        fmt.Sprintf("%.1f%%", 100*float64(x.completed)/float64(x.requests)),
					"#kpi-p50":         h.cat.T(lang, "console_seconds", map[string]any{"N": fmt.Sprintf("%.1f", x.p50.Seconds())}),
					"#kpi-p90":         h.cat.T(lang, "console_seconds", map[string]any{"N": fmt.Sprintf("%.1f", x.p90.Seconds())}),
					"#kpi-escalations": strconv.Itoa(len(h.alerts.Kinds())),
				}
				for sel, w := range want {
					if got, err := text(ctx, sel); err != nil || got != w {
						return fmt.Errorf("%s = %q (%v); want %q", sel, got, err, w)
					}
				}
				for kind, n := range alerts {
					if got, err := row(ctx, "table-escalations", string(kind)); err != nil || len(got) != 1 || got[0] != strconv.Itoa(n) {
						return fmt.Errorf("escalations %s: %v (%v); want %d", kind, got, err, n)
					}
				}
				for os, v := range x.byOS {
					got, err := row(ctx, "table-platforms", os)
					if err != nil || len(got) < 3 || got[0] != strconv.Itoa(v[0]) || got[2] != strconv.Itoa(v[1]) {
						return fmt.Errorf("platform %s: %v (%v); want picked %d, completed %d", os, got, err, v[0], v[1])
					}
				}
				for chat, n := range x.byChat {
					if got, err := row(ctx, "table-chats", chat); err != nil || len(got) != 3 || got[0] != strconv.Itoa(n) || got[2] != strconv.Itoa(x.escByChat[chat]) {
						return fmt.Errorf("chat %s: %v (%v); want %d requests, %d escalations", chat, got, err, n, x.escByChat[chat])
					}
				}
				for key, n := range map[string]int{"completed": x.completed, "not_shown": x.notShown, "failed": x.failed, "refused": 2, "wrong_person": 1, "no_devices": 1} {
					if got, err := row(ctx, "table-outcomes", key); err != nil || len(got) != 1 || got[0] != strconv.Itoa(n) {
						return fmt.Errorf("outcome %s: %v (%v); want %d", key, got, err, n)
					}
				}
				// Every chart is an accessible image with a title.
				labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('svg.chart')).map(s => s.getAttribute('role') + ':' + document.getElementById(s.id + '-t').textContent)`))
				if err != nil || len(labels) != 6 {
					return fmt.Errorf("charts %v (%v); want 6", labels, err)
				}
				for _, l := range labels {
					if !strings.HasPrefix(l, "img:") || len(l) < 6 {
						return fmt.Errorf("chart without role=img and a title: %q", l)
					}
				}
				// The language switch changes the page without signing out.
				other := map[string]string{"en": "ja", "ja": "en"}[lang]
				if err := click(ctx, "#lang-"+other); err != nil {
					return err
				}
				if got, _ := text(ctx, "h1"); got != h.cat.T(other, "console_overview") {
					return fmt.Errorf("after switching: %q, want the overview in %s", got, other)
				}
				if got, _ := text(ctx, "#kpi-requests"); got != strconv.Itoa(x.requests) {
					return fmt.Errorf("after switching the requests are %q", got)
				}
				return nil
			})
		})
	}
	if !h.hasConsoleEvent(helen.upn, "view_overview") {
		t.Errorf("viewing the overview is not in the audit trail")
	}
}

// TestBrowserAlerts: the alert queue lists open alerts newest first; taking
// one in the console records who and tells the chat side; a chat "I'm on it"
// shows up in the console; resolving with a note closes the alert.
func TestBrowserAlerts(t *testing.T) {
	h := newHarness(t)
	h.reset("slack", "U-bob", "bob@contoso.example", 2, "bob@contoso.example")    // contact support
	h.reset("slack", "U-dave", "dave@contoso.example", 1, "dave@contoso.example") // not supported
	all := h.alerts.All()
	if len(all) != 2 {
		t.Fatalf("%d alerts, want 2", len(all))
	}
	scanner, surface := all[0], all[1]
	ctx := browser(t, "en")
	within(t, ctx, 60*time.Second, func(ctx context.Context) error {
		if err := h.signIn(ctx, helen); err != nil {
			return err
		}
		if err := load(ctx, h.url("/console/alerts")); err != nil {
			return err
		}
		ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.alerts > li')).map(li => li.id)`))
		if err != nil || !slices.Equal(ids, []string{"alert-" + surface.ID, "alert-" + scanner.ID}) {
			return fmt.Errorf("alerts %v (%v); want newest first", ids, err)
		}
		// Filter by kind.
		if err := load(ctx, h.url("/console/alerts?kind=contact_support")); err != nil {
			return err
		}
		ids, _ = chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.alerts > li')).map(li => li.id)`))
		if !slices.Equal(ids, []string{"alert-" + scanner.ID}) {
			return fmt.Errorf("filtered alerts %v", ids)
		}
		// Take it here.
		if err := click(ctx, "#alert-"+scanner.ID+" button.take"); err != nil {
			return err
		}
		if got, _ := text(ctx, "#alert-"+scanner.ID+" .taken"); !strings.HasPrefix(got, helen.upn+" (console,") {
			return fmt.Errorf("taken by %q, want %s via the console", got, helen.upn)
		}
		if exists(ctx, "#alert-"+scanner.ID+" button.take") {
			return fmt.Errorf("a taken alert still offers Take")
		}
		// Someone presses "I'm on it" in Slack on the other one.
		tap := &console.Tap{Store: h.cs}
		tap.TakenInChat(context.Background(), surface.ID, "slack", "U-HELEN2", h.clk.Now())
		if err := load(ctx, h.url("/console/alerts")); err != nil {
			return err
		}
		if got, _ := text(ctx, "#alert-"+surface.ID+" .taken"); !strings.HasPrefix(got, "slack:U-HELEN2 (slack,") {
			return fmt.Errorf("chat take shows as %q", got)
		}
		// Resolve the scanner with a note.
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#alert-"+scanner.ID+" input.note"), "Replaced the scanner's passcode by hand")); err != nil {
			return err
		}
		if err := click(ctx, "#alert-"+scanner.ID+" button.resolve-button"); err != nil {
			return err
		}
		if exists(ctx, "#alert-"+scanner.ID) {
			return fmt.Errorf("a resolved alert is still in the open queue")
		}
		if err := load(ctx, h.url("/console/alerts?all=1")); err != nil {
			return err
		}
		if got, _ := text(ctx, "#alert-"+scanner.ID+" .resolved"); !strings.Contains(got, "Replaced the scanner's passcode by hand") || !strings.HasPrefix(got, helen.upn) {
			return fmt.Errorf("resolved shows %q", got)
		}
		return nil
	})
	// The chat side heard of the console's take, once; the chat's own take is not echoed.
	h.mu.Lock()
	taken := slices.Clone(h.taken)
	h.mu.Unlock()
	if len(taken) != 1 || taken[0] != [2]string{scanner.ID, helen.upn} {
		t.Errorf("OnTaken calls %v; want one for %s by %s", taken, scanner.ID, helen.upn)
	}
	rows, _ := h.cs.Alerts(context.Background(), console.AlertFilter{ID: scanner.ID})
	if len(rows) != 1 || rows[0].TakenBy != helen.upn || rows[0].ResolvedBy != helen.upn || rows[0].Open() {
		t.Errorf("stored alert %+v", rows)
	}
	// A later chat click does not take it from helen.
	if _, took, _, _ := h.cs.TakeAlert(context.Background(), scanner.ID, "slack:U9", "slack", h.clk.Now()); took {
		t.Errorf("a second take replaced the first")
	}
	if !h.hasConsoleEvent(helen.upn, "take") || !h.hasConsoleEvent(helen.upn, "resolve") {
		t.Errorf("take and resolve not in the audit trail")
	}
	acks, _ := h.db.Events(context.Background(), sqlite.Filter{Step: "alert_ack"})
	if len(acks) != 1 || acks[0].ChatUser != helen.upn || acks[0].Detail != "alert="+scanner.ID {
		t.Errorf("alert_ack events %+v; want the console's take", acks)
	}
}

// TestBrowserTrail: a person's trail, one flow as a timeline, CSV and JSON
// export of what is shown; never a passcode.
func TestBrowserTrail(t *testing.T) {
	h := newHarness(t)
	h.script()
	h.mu.Lock()
	secrets := slices.Clone(h.secrets)
	h.mu.Unlock()
	if len(secrets) < 2 {
		t.Fatalf("the script delivered %d secrets; want the client secret and the Pixel's passcode", len(secrets))
	}
	want, _ := h.db.Events(context.Background(), sqlite.Filter{User: "alice@contoso.example"})
	var pixelFlow string
	for _, e := range want {
		if e.DeviceID == "dev-alice-pixel" {
			pixelFlow = e.Flow
		}
	}
	flowWant, _ := h.db.Events(context.Background(), sqlite.Filter{Flow: pixelFlow})

	for _, lang := range []string{"en", "ja"} {
		t.Run(lang, func(t *testing.T) {
			ctx := browser(t, lang)
			within(t, ctx, 60*time.Second, func(ctx context.Context) error {
				if err := h.signIn(ctx, helen); err != nil {
					return err
				}
				if err := load(ctx, h.url("/console/trail")); err != nil {
					return err
				}
				if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#person"), "Alice@Contoso.example")); err != nil {
					return err
				}
				if err := click(ctx, "#search"); err != nil {
					return err
				}
				steps, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#events tbody tr')).map(tr => tr.dataset.step)`))
				if err != nil || len(steps) != len(want) {
					return fmt.Errorf("trail has %d rows (%v); the audit trail has %d events for alice", len(steps), err, len(want))
				}
				for i, e := range want {
					if steps[i] != e.Step {
						return fmt.Errorf("row %d is %s, want %s", i, steps[i], e.Step)
					}
				}
				// One flow as a timeline.
				if err := load(ctx, h.url("/console/flow/"+pixelFlow)); err != nil {
					return err
				}
				tl, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#timeline li')).map(li => li.dataset.step)`))
				var wantSteps []string
				for _, e := range flowWant {
					wantSteps = append(wantSteps, e.Step)
				}
				if !slices.Equal(tl, wantSteps) {
					return fmt.Errorf("timeline %v, want %v", tl, wantSteps)
				}
				for _, s := range []string{"request", "eligibility", "link_issued", "signin", "confirm", "reset_requested", "result", "delivery"} {
					if !slices.Contains(tl, s) {
						return fmt.Errorf("the timeline lacks %s: %v", s, tl)
					}
				}
				if got, _ := text(ctx, `#timeline li[data-step="signin"] .detail`); !strings.Contains(got, "signed_in_as=alice@contoso.example") || !strings.Contains(got, "auth_time=") {
					return fmt.Errorf("the sign-in step shows %q; want who and auth_time", got)
				}
				if got, _ := text(ctx, `#timeline li[data-step="signin"] strong`); got != h.cat.T(lang, "console_step_signin") {
					return fmt.Errorf("step label %q", got)
				}
				page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
				for _, s := range secrets {
					if strings.Contains(page, s) {
						return fmt.Errorf("the flow page holds a secret")
					}
				}
				// The export link of the flow, fetched with this browser's session.
				href, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('export-csv').getAttribute('href')`))
				resp, body, err := h.get(ctx, href)
				if err != nil {
					return err
				}
				if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
					return fmt.Errorf("export: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
				}
				if resp.Header.Get("Cache-Control") != "no-store" {
					return fmt.Errorf("export is cacheable")
				}
				recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
				if err != nil || len(recs) != len(flowWant)+1 || recs[0][0] != "time" {
					return fmt.Errorf("CSV has %d records (%v); want a header and %d events", len(recs), err, len(flowWant))
				}
				for i, e := range flowWant {
					r := recs[i+1]
					if r[1] != e.Flow || r[2] != e.Step || r[3] != e.Outcome || r[6] != e.UserUPN || r[8] != e.DeviceID || r[9] != e.Detail {
						return fmt.Errorf("CSV row %d %v; want %+v", i+1, r, e)
					}
				}
				for _, s := range secrets {
					if strings.Contains(body, s) {
						return fmt.Errorf("the export holds a secret")
					}
				}
				resp, body, err = h.get(ctx, strings.Replace(href, "format=csv", "format=json", 1))
				if err != nil || resp.StatusCode != 200 || !strings.Contains(body, `"step": "reset_requested"`) {
					return fmt.Errorf("JSON export %v: %.200s", err, body)
				}
				return nil
			})
		})
	}
	var searches, exports int
	for _, e := range h.consoleEvents() {
		switch e.Outcome {
		case "search":
			searches++
		case "export_csv", "export_json":
			exports++
		}
	}
	if searches != 2 || exports != 4 {
		t.Errorf("audit has %d searches and %d exports; want 2 and 4", searches, exports)
	}
}
