package teams_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

type inputs struct {
	mu  sync.Mutex
	all []resetflow.Input
}

func (r *inputs) Handle(_ context.Context, in resetflow.Input) {
	r.mu.Lock()
	r.all = append(r.all, in)
	r.mu.Unlock()
}

// FuzzActivity: whatever body comes with a valid token, the endpoint answers
// with one of its statuses and never panics, and whatever reaches the engine
// is a person of our tenant whom the roster confirmed, in a personal chat.
func FuzzActivity(f *testing.F) {
	fk := teamstest.New(f, teamstest.Options{})
	a, err := teams.New(teams.Config{AppID: fk.AppID(), AppPassword: fk.AppPassword(), TenantID: fk.TenantID(),
		ServiceURL: fk.ServiceURL(), MetadataURL: fk.MetadataURL(), TokenURL: fk.TokenURL(), Catalog: catalog.MustNew("en")})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Register(mux)
	web := httptest.NewServer(mux)
	f.Cleanup(web.Close)
	fk.SetEndpoint(web.URL + teams.DefaultPath)
	rec := &inputs{}
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	go a.Run(ctx, rec)
	<-a.Ready()
	alice := fk.AddUser(teamstest.User{AADObjectID: aliceID, UPN: "alice@contoso.example", Locale: "ja-JP"})
	tok := fk.Token(fk.ServiceURL(), teamstest.Sign{})

	msg := fk.Activity(alice, "")
	msg["text"] = "<at>bot</at> reset&nbsp;<b>now</b>"
	f.Add(mustJSON(msg))
	click := fk.Activity(alice, "")
	click["replyToId"], click["value"] = "1234", map[string]any{"pc": "choice", "pc_choice": "pick|x|0", "ht": ""}
	f.Add(mustJSON(click))
	inv := fk.Activity(alice, "")
	inv["type"], inv["name"], inv["value"] = "invoke", "adaptiveCard/action", map[string]any{"action": map[string]any{"data": map[string]any{"pc": "confirm|x"}}}
	f.Add(mustJSON(inv))
	f.Add([]byte(`{"type":"conversationUpdate","serviceUrl":"` + fk.ServiceURL() + `","conversation":{"id":"a:1","conversationType":"personal"},"from":{"id":"29:1","aadObjectId":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := fk.PostWithToken(body, tok)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains([]int{http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge}, res.Status) {
			t.Fatalf("status %d for %q", res.Status, body)
		}
		a.WaitIdle(10 * time.Second)
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, in := range rec.all {
			if in.From.Platform != teams.Platform || in.From.UserID != aliceID || in.Email != "alice@contoso.example" {
				t.Fatalf("input %+v from %q", in, body)
			}
		}
	})
}
