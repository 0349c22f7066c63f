package discord

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/httppool"
)

// TestPostAndEditReadOnlyTheID: a new message's id is all the bot takes from
// Discord's answer, and an edit's answer is not read; the rest of the message
// (here a timestamp discordgo's Message cannot decode, a component type it
// does not know) is never decoded. The routes and bodies are discordgo's.
func TestPostAndEditReadOnlyTheID(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(body))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"author":{"id":"99","username":"passcodebot","bot":true},"timestamp":"soon","components":[{"type":99,"components":[]}],"id":"1234"}`)
	}))
	defer srv.Close()
	a, err := New(Config{Token: "t", Catalog: catalog.MustNew("en"), APIURL: srv.URL + "/api/v9/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.rest.ChannelMessageSendComplex("5", &discordgo.MessageSend{Content: "hi"}); err == nil {
		t.Fatal("discordgo decoded the answer: the test's answer no longer shows the difference")
	}
	id, err := a.postMessage("5", &discordgo.MessageSend{Content: "hi"})
	if err != nil || id != "1234" {
		t.Fatalf("postMessage = %q, %v; want 1234", id, err)
	}
	content := "edited"
	if err := a.editMessage(&discordgo.MessageEdit{Channel: "5", ID: "1234", Content: &content}); err != nil {
		t.Fatalf("editMessage: %v", err)
	}
	want := []string{"POST /api/v9/channels/5/messages", "POST /api/v9/channels/5/messages", "PATCH /api/v9/channels/5/messages/1234"}
	if len(got) != len(want) {
		t.Fatalf("calls %q; want %q", got, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w+" ") {
			t.Errorf("call %d: %q; want %s", i, got[i], w)
		}
	}
	if !strings.Contains(got[2], `"content":"edited"`) {
		t.Errorf("the edit's body %q lacks its content", got[2])
	}
}

// TestDMFromInteraction: only an interaction in the context BOT_DM outside a
// server makes its channel the person's confirmed DM, and never a channel
// known as someone else's, nor over a DM already confirmed.
func TestDMFromInteraction(t *testing.T) {
	a, err := New(Config{Token: "t", Catalog: catalog.MustNew("en")})
	if err != nil {
		t.Fatal(err)
	}
	a.dmOwners["20"] = "2" // Bob's DM, as the bot heard it
	a.dms["3"], a.dmOwners["30"] = "30", "3"
	botDM := discordgo.InteractionContextBotDM
	for _, tc := range []struct {
		name                 string
		user, channel, guild string
		ctx                  discordgo.InteractionContextType
		wantDM               string // the user's confirmed DM after, "" for none
	}{
		{"no context (0)", "1", "10", "", discordgo.InteractionContextGuild, ""},
		{"another DM (2)", "1", "10", "", discordgo.InteractionContextPrivateChannel, ""},
		{"BOT_DM in a server", "1", "10", "9", botDM, ""},
		{"BOT_DM in Bob's DM", "1", "20", "", botDM, ""},
		{"BOT_DM over a confirmed DM", "3", "31", "", botDM, "30"},
		{"BOT_DM", "1", "10", "", botDM, "10"},
	} {
		a.dmFromInteraction(&discordgo.Interaction{ChannelID: tc.channel, GuildID: tc.guild, Context: tc.ctx}, tc.user)
		if got := a.dms[tc.user]; got != tc.wantDM {
			t.Errorf("%s: the confirmed DM of %s is %q; want %q", tc.name, tc.user, got, tc.wantDM)
		}
	}
	if a.dmOwners["20"] != "2" || a.dmOwners["10"] != "1" {
		t.Errorf("DM owners %v", a.dmOwners)
	}
}

// TestAnswersDoNotWaitBehindPosts: with every REST connection of the bot
// busy posting messages (httppool.PerHost of them, held by a slow Discord),
// an interaction's answer still goes out at once on connections of its own;
// Discord wants it within 3 s.
func TestAnswersDoNotWaitBehindPosts(t *testing.T) {
	release := make(chan struct{})
	inFlight := make(chan struct{}, httppool.PerHost)
	answered := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/messages"):
			inFlight <- struct{}{}
			<-release
			io.WriteString(w, `{"id":"1"}`)
		case strings.HasSuffix(r.URL.Path, "/callback"):
			body, _ := io.ReadAll(r.Body)
			answered <- string(body)
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	defer close(release)
	a, err := New(Config{Token: "t", Catalog: catalog.MustNew("en"), APIURL: srv.URL + "/api/v9/"})
	if err != nil {
		t.Fatal(err)
	}
	for n := range httppool.PerHost + 8 {
		go a.postMessage(strconv.Itoa(n), &discordgo.MessageSend{Content: "hi"})
	}
	for range httppool.PerHost {
		<-inFlight // every connection of the messages' pool is taken
	}
	done := make(chan bool, 1)
	go func() {
		done <- a.ack(&discordgo.Interaction{ID: "7", Token: "tok"}, discordgo.InteractionResponseDeferredMessageUpdate)
	}()
	select {
	case body := <-answered:
		if !strings.Contains(body, `"type":6`) {
			t.Errorf("the answer %s; want type 6", body)
		}
	case <-done:
		t.Fatal("the answer failed while the posts held every connection")
	}
	if !<-done {
		t.Error("ack reported failure")
	}
}
