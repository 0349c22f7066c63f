package slack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// Register mounts the HTTP mode endpoints: the Events API at /slack/events,
// interactivity at /slack/interactions and the slash command at /slack/commands.
// Each request must carry a valid signature made with the signing secret within
// the last five minutes, or it is answered 401 and changes nothing. Requests are
// answered at once; the work happens afterwards.
func (a *Adapter) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /slack/events", a.serveEvents)
	mux.HandleFunc("POST /slack/interactions", a.serveInteractions)
	mux.HandleFunc("POST /slack/commands", a.serveCommands)
}

// verified reads the body and checks Slack's signature. The verifier has no
// replay protection of its own: event ids and click keys are deduplicated later.
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return nil, false
	}
	sv, err := slackgo.NewSecretsVerifier(r.Header, a.cfg.SigningSecret)
	if err == nil {
		_, err = sv.Write(body)
	}
	if err == nil {
		err = sv.Ensure()
	}
	if err != nil {
		a.log.Warn("refused a Slack request: bad or stale signature", "path", r.URL.Path, "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

func (a *Adapter) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		if json.Valid(body) {
			w.WriteHeader(http.StatusOK) // an event type the bot does not use
			return
		}
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	if ev.Type == slackevents.URLVerification {
		if v, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent); ok {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"challenge": v.Challenge})
			return
		}
	}
	a.onEvent(ev)
	w.WriteHeader(http.StatusOK)
}

func (a *Adapter) serveInteractions(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	payload := form.Get("payload")
	cb, perr := parseClick([]byte(payload))
	if err != nil || payload == "" || perr != nil {
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	a.onInteraction(cb, json.RawMessage(payload))
	w.WriteHeader(http.StatusOK)
}

func (a *Adapter) serveCommands(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	cmd, err := slackgo.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "malformed command", http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("ssl_check") == "1" {
		w.WriteHeader(http.StatusOK)
		return
	}
	a.onCommand(cmd)
	w.WriteHeader(http.StatusOK)
}
