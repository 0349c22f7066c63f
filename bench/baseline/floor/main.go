// Command floor is the load benchmark's floor (issue 17): a bot with no logic
// that does, per user action, exactly the external I/O a passcode reset needs
// at minimum, against the same fake Slack and fake Graph as passcodebot, so
// bench/load can tell the bot's own work from the I/O any implementation of
// the flow must do. Per action:
//
//   - DM "reset": one users.info (the first time a person writes), one Graph
//     device list, one sync, one chat.postMessage (the device list);
//   - device click: one sync, one chat.postMessage (the sign-in link);
//   - sign-in (three requests to its own HTTP server: the landing page, its
//     button, the demo sign-in form): one sync, one chat.postMessage (the
//     warning);
//   - "Reset passcode" click: one durable record in SQLite (WAL,
//     synchronous=FULL: synced before the reset is asked for, so a crash can
//     never leave a reset nobody knows about; concurrent records share a
//     commit), one Graph resetPasscode, one chat.postMessage ("Resetting…");
//   - the result: Graph result reads every reset.poll_first until the
//     passcode is there, paced across all resets at the bot's Graph budget
//     (resetflow.GraphReadsPerSecond: a share of Intune's documented limit,
//     so both wait alike when many resets are in flight), then one sync, one
//     chat.postMessage with the passcode, one sync (the message on screen)
//     and one chat.postMessage with the success notice.
//
// A sync is a line appended to a journal beside the SQLite file and
// fdatasync'd before the post it precedes: the least a bot that promises what
// passcodebot does (every step durable before its effect is shown, README
// "What the bot keeps through a crash and a power loss") must do there. Lines
// queued while one is synced share the next sync. GET /durable on the sign-in
// server answers "writes syncs alloc gcs": the records and journal lines asked
// for, the syncs (SQLite commits and journal fdatasyncs) they took, the heap
// allocated so far and the garbage collections run, for the driver.
//
// It acknowledges every envelope on the socket's event loop before anything
// else and does the work of each action on its own goroutine. It checks
// nothing (no eligibility, no identity, no expiry) and logs nothing: it is a
// yardstick, not a bot.
//
// With FLOOR_PLATFORM=discord or teams it does the same on Discord or Teams
// (platforms.go).
//
// Configuration comes from the environment (bench/loadtest sets it):
// FLOOR_SLACK_API_URL, FLOOR_SLACK_BOT_TOKEN, FLOOR_SLACK_APP_TOKEN,
// FLOOR_GRAPH_URL, FLOOR_LOGIN_URL, FLOOR_TENANT_ID, FLOOR_CLIENT_ID,
// FLOOR_CLIENT_SECRET, FLOOR_DB (the SQLite file), FLOOR_LISTEN (the sign-in
// server, host:port), FLOOR_READY_FILE (written with the sign-in address once
// connected), FLOOR_POLL_FIRST, FLOOR_POLL_MAX, and the two sentences the
// driver recognises, FLOOR_TEXT_RESETTING and FLOOR_TEXT_SUCCESS, in which
// {device} stands for the device's name.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	_ "modernc.org/sqlite"

	"github.com/passcodebot/passcodebot/internal/httppool"
	"github.com/passcodebot/passcodebot/resetflow"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// person is what the floor keeps of one employee between actions.
type person struct {
	email   string
	channel string
	device  string // Graph id
	name    string // device name
	service string // Teams: the Connector's base URL for this person
}

type floor struct {
	out                output // how the floor talks in the chat (Slack unless FLOOR_PLATFORM says otherwise)
	api                *slack.Client
	graph              *http.Client // with the client-credentials token
	graphURL           string
	db                 *group[record] // the resets asked for, in SQLite
	journal            *group[string] // the steps synced before their posts
	base               string         // the sign-in server's URL
	first              time.Duration
	maxWait            time.Duration
	resetting, success string
	pickOnPage         bool // Discord and Teams: the device list links to the pick page

	mu     sync.Mutex
	people map[string]*person // Slack user id
	links  map[string]string  // sign-in token -> Slack user id
	next   time.Time          // the next free slot for a result read
}

// slot reserves the first free result-read slot at or after want.
func (f *floor) slot(want time.Time) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if want.Before(f.next) {
		want = f.next
	}
	f.next = want.Add(time.Second / resetflow.GraphReadsPerSecond)
	return want
}

func run(ctx context.Context) error {
	env := os.Getenv
	first, err := time.ParseDuration(env("FLOOR_POLL_FIRST"))
	if err != nil {
		return fmt.Errorf("FLOOR_POLL_FIRST: %w", err)
	}
	maxWait, err := time.ParseDuration(env("FLOOR_POLL_MAX"))
	if err != nil {
		return fmt.Errorf("FLOOR_POLL_MAX: %w", err)
	}
	// The same connection pools and timeouts as passcodebot's Slack and Intune clients.
	pool := func() *http.Client { return &http.Client{Transport: httppool.Transport(), Timeout: 30 * time.Second} }
	api := slack.New(env("FLOOR_SLACK_BOT_TOKEN"),
		slack.OptionAPIURL(env("FLOOR_SLACK_API_URL")),
		slack.OptionAppLevelToken(env("FLOOR_SLACK_APP_TOKEN")),
		slack.OptionHTTPClient(pool()))
	graphURL := strings.TrimRight(env("FLOOR_GRAPH_URL"), "/")
	cc := &clientcredentials.Config{
		ClientID: env("FLOOR_CLIENT_ID"), ClientSecret: env("FLOOR_CLIENT_SECRET"),
		TokenURL:  strings.TrimRight(env("FLOOR_LOGIN_URL"), "/") + "/" + url.PathEscape(env("FLOOR_TENANT_ID")) + "/oauth2/v2.0/token",
		Scopes:    []string{graphURL + "/.default"},
		AuthStyle: oauth2.AuthStyleInParams,
	}
	db, err := openRecords(ctx, env("FLOOR_DB"))
	if err != nil {
		return err
	}
	jr, err := openJournal(env("FLOOR_DB") + ".journal")
	if err != nil {
		return err
	}
	// Nothing closes it: a record is on disk once add returns, and the
	// process ends with the driver's SIGTERM.
	ln, err := net.Listen("tcp", env("FLOOR_LISTEN"))
	if err != nil {
		return err
	}
	f := &floor{
		api: api, graph: cc.Client(context.WithValue(ctx, oauth2.HTTPClient, pool())), graphURL: graphURL, db: db, journal: jr,
		base: "http://" + ln.Addr().String(), first: first, maxWait: maxWait,
		resetting: env("FLOOR_TEXT_RESETTING"), success: env("FLOOR_TEXT_SUCCESS"),
		people: map[string]*person{}, links: map[string]string{},
	}
	f.pickOnPage = env("FLOOR_PLATFORM") == "discord" || env("FLOOR_PLATFORM") == "teams"
	mux := f.routes()
	switch env("FLOOR_PLATFORM") {
	case "discord":
		return f.runDiscord(ctx, ln, mux)
	case "teams":
		return f.runTeams(ctx, ln, mux, pool())
	}
	f.out = slackOutput{f}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	client := socketmode.New(api)
	go f.events(ctx, client)
	return client.RunContext(ctx)
}

// events acks each envelope first, then starts its work on a goroutine.
func (f *floor) events(ctx context.Context, client *socketmode.Client) {
	for {
		var evt socketmode.Event
		select {
		case <-ctx.Done():
			return
		case evt = <-client.Events:
		}
		switch evt.Type {
		case socketmode.EventTypeConnected:
			if p := os.Getenv("FLOOR_READY_FILE"); p != "" {
				_ = os.WriteFile(p, []byte(f.base), 0o600)
			}
			continue
		case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive:
		default:
			continue
		}
		if evt.Request != nil {
			_ = client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
		}
		switch d := evt.Data.(type) {
		case slackevents.EventsAPIEvent:
			m, ok := d.InnerEvent.Data.(*slackevents.MessageEvent)
			if !ok || m.BotID != "" || m.SubType != "" || m.ChannelType != "im" {
				continue
			}
			user, channel := m.User, m.Channel
			go func() { f.failed(user, f.devices(ctx, user, channel)) }()
		case slack.InteractionCallback:
			if d.Type != slack.InteractionTypeBlockActions || len(d.ActionCallback.BlockActions) == 0 {
				continue
			}
			user, act := d.User.ID, d.ActionCallback.BlockActions[0]
			switch act.ActionID {
			case "pcb_choice_0":
				go func() { f.failed(user, f.link(ctx, user)) }()
			case "pcb_button_0":
				go func() { f.failed(user, f.reset(ctx, user)) }()
			}
		}
	}
}

func (f *floor) failed(user string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "floor: %s: %v\n", user, err)
	}
}

func (f *floor) person(user string) *person {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.people[user]
}

// devices answers a DM: users.info the first time, the device list, one post.
func (f *floor) devices(ctx context.Context, user, channel string) error {
	var email string
	if p := f.person(user); p != nil {
		email = p.email
	} else {
		u, err := f.api.GetUserInfoContext(ctx, user)
		if err != nil {
			return err
		}
		email = u.Profile.Email
	}
	var page struct {
		Value []struct {
			ID   string `json:"id"`
			Name string `json:"deviceName"`
		} `json:"value"`
	}
	if err := f.graphDo(ctx, http.MethodGet, "/beta/users/"+url.PathEscape(email)+
		"/managedDevices?$select=id,deviceName,operatingSystem,deviceEnrollmentType", &page); err != nil {
		return err
	}
	if len(page.Value) == 0 {
		return errors.New("no device")
	}
	p := &person{email: email, channel: channel, device: page.Value[0].ID, name: page.Value[0].Name}
	f.mu.Lock()
	f.people[user] = p
	f.mu.Unlock()
	if err := f.journal.add(ctx, "devices listed"); err != nil {
		return err
	}
	return f.post(ctx, channel, "Which device?",
		slack.NewActionBlock("pcb_choices", slack.NewButtonBlockElement("pcb_choice_0", p.device, slack.NewTextBlockObject(slack.PlainTextType, p.name, false, false))))
}

// link answers a device click: one post with a sign-in link.
func (f *floor) link(ctx context.Context, user string) error {
	p := f.person(user)
	if p == nil {
		return errors.New("no device list")
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	f.mu.Lock()
	f.links[token] = user
	f.mu.Unlock()
	btn := slack.NewButtonBlockElement("pcb_link", "", slack.NewTextBlockObject(slack.PlainTextType, "Sign in", false, false))
	btn.URL = f.base + "/r/" + token
	if err := f.journal.add(ctx, "link issued"); err != nil {
		return err
	}
	return f.post(ctx, p.channel, "Sign in again", slack.NewActionBlock("pcb_signin", btn))
}

// routes serve the sign-in: a landing page, its button, the demo form.
// On Discord and Teams the landing page is the device link's pick page: a
// browser submits it at once, a link preview does not.
func (f *floor) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r/{token}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<form method="post" action="/r/%s"><button>Continue</button></form><script>document.forms[0].submit()</script>`, html.EscapeString(r.PathValue("token")))
	})
	mux.HandleFunc("POST /r/{token}", func(w http.ResponseWriter, r *http.Request) {
		if f.pickOnPage {
			// Discord and Teams: this is the device's pick, recorded before the sign-in.
			if err := f.journal.add(r.Context(), "link issued"); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		fmt.Fprintf(w, `<form method="post" action="/local/signin"><input type="hidden" name="token" value="%s"><button>Sign in</button></form>`, html.EscapeString(r.PathValue("token")))
	})
	mux.HandleFunc("POST /local/signin", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		user, ok := f.links[r.PostFormValue("token")]
		delete(f.links, r.PostFormValue("token"))
		p := f.people[user]
		f.mu.Unlock()
		if !ok || p == nil {
			http.Error(w, "unknown link", http.StatusNotFound)
			return
		}
		if err := f.journal.add(r.Context(), "signed in"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if err := f.out.warning(r.Context(), p); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte("Signed in. Go back to Slack.\n"))
	})
	mux.HandleFunc("GET /durable", func(w http.ResponseWriter, r *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(w, "%d %d %d %d\n", f.db.writes.Load()+f.journal.writes.Load(), f.db.syncs.Load()+f.journal.syncs.Load(), ms.TotalAlloc, ms.NumGC)
	})
	return mux
}

// reset answers "Reset passcode": the durable record, resetPasscode, one
// post; then the result reads, the passcode and the success notice.
func (f *floor) reset(ctx context.Context, user string) error {
	p := f.person(user)
	if p == nil {
		return errors.New("no device")
	}
	if err := f.db.add(ctx, record{user: user, device: p.device, at: time.Now()}); err != nil {
		return err
	}
	if err := f.graphDo(ctx, http.MethodPost, "/v1.0/deviceManagement/managedDevices/"+url.PathEscape(p.device)+"/resetPasscode", nil); err != nil {
		return err
	}
	if err := f.out.text(ctx, p, strings.ReplaceAll(f.resetting, "{device}", p.name)); err != nil {
		return err
	}
	for {
		wait := time.Until(f.slot(time.Now().Add(f.first)))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		var res struct {
			Results []struct {
				Type     string `json:"@odata.type"`
				State    string `json:"actionState"`
				Passcode string `json:"passcode"`
			} `json:"deviceActionResults"`
		}
		if err := f.graphDo(ctx, http.MethodGet, "/beta/deviceManagement/managedDevices/"+url.PathEscape(p.device)+"?$select=deviceActionResults", &res); err != nil {
			return err
		}
		for _, r := range res.Results {
			if r.Type == "#microsoft.graph.resetPasscodeActionResult" && r.State == "done" {
				if err := f.journal.add(ctx, "result"); err != nil {
					return err
				}
				if err := f.out.secret(ctx, p, r.Passcode); err != nil {
					return err
				}
				if err := f.journal.add(ctx, "passcode shown"); err != nil {
					return err
				}
				return f.out.text(ctx, p, strings.ReplaceAll(f.success, "{device}", p.name))
			}
		}
	}
}

// output is how the floor posts what the shared steps (sign-in, reset) say.
type output interface {
	warning(ctx context.Context, p *person) error // the "Reset passcode" button
	text(ctx context.Context, p *person, s string) error
	secret(ctx context.Context, p *person, passcode string) error
}

type slackOutput struct{ f *floor }

func (o slackOutput) warning(ctx context.Context, p *person) error {
	confirm := slack.NewConfirmationBlockObject(slack.NewTextBlockObject(slack.PlainTextType, "Sure?", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Anyone holding the device can reach its data.", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Reset", false, false), nil)
	btn := slack.NewButtonBlockElement("pcb_button_0", "confirm", slack.NewTextBlockObject(slack.PlainTextType, "Reset passcode", false, false))
	btn.Confirm = confirm
	return o.f.post(ctx, p.channel, "Warning", slack.NewActionBlock("pcb_confirm", btn))
}

func (o slackOutput) text(ctx context.Context, p *person, s string) error {
	return o.f.post(ctx, p.channel, s)
}

func (o slackOutput) secret(ctx context.Context, p *person, passcode string) error {
	return o.f.post(ctx, p.channel, "Your temporary passcode",
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "`"+passcode+"`", false, false), nil, nil, slack.SectionBlockOptionBlockID("pcb_secret")))
}

func (f *floor) post(ctx context.Context, channel, text string, blocks ...slack.Block) error {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	_, _, err := f.api.PostMessageContext(ctx, channel, opts...)
	return err
}

func (f *floor) graphDo(ctx context.Context, method, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, method, f.graphURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := f.graph.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("graph %s %s: %s", method, path, resp.Status)
	}
	if into == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// group commits what was queued while a commit ran in the next one (group
// commit, as passcodebot's SQLite writer does): each add returns once its item
// is committed. writes counts the items, syncs the commits.
type group[T any] struct {
	queue         chan *pending[T]
	commit        func([]T) error
	writes, syncs atomic.Int64
}

type pending[T any] struct {
	item T
	err  chan error
}

func newGroup[T any](commit func([]T) error) *group[T] {
	g := &group[T]{queue: make(chan *pending[T], 256), commit: commit}
	go g.run()
	return g
}

func (g *group[T]) add(ctx context.Context, item T) error {
	p := &pending[T]{item: item, err: make(chan error, 1)}
	select {
	case g.queue <- p:
		g.writes.Add(1)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.err:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *group[T]) run() {
	for p := range g.queue {
		batch := []*pending[T]{p}
	more:
		for len(batch) < 256 {
			select {
			case next := <-g.queue:
				batch = append(batch, next)
			default:
				break more
			}
		}
		items := make([]T, len(batch))
		for i, b := range batch {
			items[i] = b.item
		}
		err := g.commit(items)
		if err == nil {
			g.syncs.Add(1)
		}
		for _, b := range batch {
			b.err <- err
		}
	}
}

// record is a reset asked for, the durable record before resetPasscode.
type record struct {
	user, device string
	at           time.Time
}

// openRecords opens the SQLite file of the resets asked for (WAL,
// synchronous=FULL: a commit returns once synced).
func openRecords(ctx context.Context, path string) (*group[record], error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS resets (user TEXT NOT NULL, device TEXT NOT NULL, at TEXT NOT NULL)`); err != nil {
		db.Close()
		return nil, err
	}
	return newGroup(func(batch []record) error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		for _, b := range batch {
			if _, err := tx.Exec(`INSERT INTO resets (user, device, at) VALUES (?, ?, ?)`, b.user, b.device, b.at.UTC().Format(time.RFC3339Nano)); err != nil {
				tx.Rollback()
				return err
			}
		}
		return tx.Commit()
	}), nil
}

// openJournal opens the journal where the floor syncs the steps before their
// posts: a line each, appended and fdatasync'd.
func openJournal(path string) (*group[string], error) {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	var buf []byte
	return newGroup(func(lines []string) error {
		buf = buf[:0]
		for _, l := range lines {
			buf = append(buf, time.Now().UTC().Format(time.RFC3339Nano)...)
			buf = append(buf, ' ')
			buf = append(buf, l...)
			buf = append(buf, '\n')
		}
		if _, err := fh.Write(buf); err != nil {
			return err
		}
		return syscall.Fdatasync(int(fh.Fd()))
	}), nil
}
