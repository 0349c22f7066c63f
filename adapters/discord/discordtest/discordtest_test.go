package discordtest_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
)

// rewrite sends discordgo's REST calls to the fake.
type rewrite struct{ to string }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	u, _ := url.Parse(r.to + strings.TrimPrefix(req.URL.String(), discordgo.EndpointAPI))
	req = req.Clone(req.Context())
	req.URL, req.Host = u, u.Host
	return http.DefaultTransport.RoundTrip(req)
}

func websocketDialer() *websocket.Dialer { d := *websocket.DefaultDialer; return &d }

func session(f *discordtest.Server) *discordgo.Session {
	s, _ := discordgo.New("Bot " + f.Token())
	s.Client = &http.Client{Transport: rewrite{f.APIURL()}}
	s.Dialer = websocketDialer()
	s.ShouldReconnectOnError = false
	s.LogLevel = -1
	return s
}

// TestPlainOpen: discordgo's Open() against the fake: HELLO, IDENTIFY, READY, heartbeats answered.
func TestPlainOpen(t *testing.T) {
	f := discordtest.New(t, discordtest.Options{HeartbeatInterval: 50 * time.Millisecond})
	s := session(f)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f.WaitFor(t, "three heartbeats", func() bool { return f.Heartbeats() >= 3 })
	acks := 0
	for _, op := range f.GatewayLog() {
		if !op.In && op.Op == 11 {
			acks++
		}
	}
	if acks < 3 {
		t.Errorf("%d heartbeat ACKs for %d heartbeats", acks, f.Heartbeats())
	}
	if ids := f.Identifies(); len(ids) != 1 || ids[0].Token != "Bot "+f.Token() {
		t.Errorf("identifies %+v", ids)
	}
}

// TestReconnectDuringOpenHangsDiscordgo: the fake reproduces discordgo issue
// 513: op 7 while Open() waits for READY, and Open() never returns.
func TestReconnectDuringOpenHangsDiscordgo(t *testing.T) {
	f := discordtest.New(t, discordtest.Options{})
	f.QueueConnModes(discordtest.ConnReconnectDuringOpen)
	s := session(f)
	done := make(chan error, 1)
	go func() { done <- s.Open() }() // left blocked: discordgo offers no way out
	select {
	case err := <-done:
		t.Fatalf("Open() returned (%v); the fake did not reproduce the hang", err)
	case <-time.After(1500 * time.Millisecond):
	}
	if !s.TryLock() {
		return // the session's lock is held for good: the deadlock
	}
	s.Unlock()
	t.Fatal("Open() is blocked but the session lock is free; not the issue 513 deadlock")
}

// TestInteractionLifecycle: a click is answered once; follow-ups and edits work
// with the interaction's token for 15 minutes (by the fake's clock), then not.
func TestInteractionLifecycle(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	f := discordtest.New(t, discordtest.Options{Now: func() time.Time { return now }})
	s := session(f)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := f.NewUser("ann")
	dm := f.DMChannel(u.ID)
	m, err := s.ChannelMessageSendComplex(dm, &discordgo.MessageSend{Content: "pick", Components: []discordgo.MessageComponent{
		discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.Button{Label: "A", CustomID: "a", Style: discordgo.PrimaryButton}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *discordgo.Interaction, 1)
	s.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) { got <- ic.Interaction })
	id, err := f.Click(u, m.ID, "a")
	if err != nil {
		t.Fatal(err)
	}
	var i *discordgo.Interaction
	select {
	case i = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no INTERACTION_CREATE")
	}
	if i.ID != id || i.Message == nil || i.Message.ID != m.ID || i.User == nil || i.User.ID != u.ID {
		t.Fatalf("interaction %+v", i)
	}
	if err := s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}); err != nil {
		t.Fatal(err)
	}
	if err := s.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}); err == nil {
		t.Error("a second answer to one interaction was accepted")
	}
	if _, err := s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "follow-up"}); err != nil {
		t.Fatal(err)
	}
	done := "done"
	if _, err := s.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &done}); err != nil {
		t.Fatal(err)
	}
	if msg, _ := f.Message(m.ID); msg.Content != "done" {
		t.Errorf("@original of a click is the clicked message; it says %q", msg.Content)
	}
	if _, err := f.Click(u, m.ID, "missing"); err == nil {
		t.Error("a click on a missing button was sent")
	}
	now = now.Add(15*time.Minute + time.Second)
	if _, err := s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "late"}); err == nil {
		t.Error("a follow-up after 15 minutes was accepted")
	}
}

// TestOnMessage: a fake made with Start (no test) hands every message the bot
// creates, and every edit of one, to OnMessage, as it is after.
func TestOnMessage(t *testing.T) {
	var mu sync.Mutex // OnMessage runs on the fake's goroutines
	var got []discordtest.Message
	f := discordtest.Start(discordtest.Options{OnMessage: func(m discordtest.Message) { mu.Lock(); got = append(got, m); mu.Unlock() }})
	defer f.Close()
	s := session(f)
	ch := f.DMChannel("1190000000000000042")
	m, err := s.ChannelMessageSend(ch, "first")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChannelMessageEdit(ch, m.ID, "second"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].ID != m.ID || got[0].Content != "first" || got[1].ID != m.ID || got[1].Content != "second" || got[1].ChannelID != ch {
		t.Errorf("OnMessage saw %+v; want the post, then its edit", got)
	}
}
