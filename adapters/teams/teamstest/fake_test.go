package teamstest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
)

// TestFakeIsStrict: the fake's token endpoint and Connector refuse what the
// real ones refuse, and its signed tokens verify against its published keys
// (and fail with another audience), so the adapter's tests mean something.
func TestFakeIsStrict(t *testing.T) {
	f := teamstest.New(t, teamstest.Options{})
	ctx := context.Background()
	good := clientcredentials.Config{ClientID: f.AppID(), ClientSecret: f.AppPassword(), TokenURL: f.TokenURL(), Scopes: []string{teamstest.Scope}}
	if _, err := good.Token(ctx); err != nil {
		t.Fatalf("a good token request failed: %v", err)
	}
	for name, c := range map[string]clientcredentials.Config{
		"wrong secret": {ClientID: f.AppID(), ClientSecret: "nope", TokenURL: f.TokenURL(), Scopes: []string{teamstest.Scope}},
		"wrong scope":  {ClientID: f.AppID(), ClientSecret: f.AppPassword(), TokenURL: f.TokenURL(), Scopes: []string{"https://graph.microsoft.com/.default"}},
		"wrong tenant": {ClientID: f.AppID(), ClientSecret: f.AppPassword(), TokenURL: strings.Replace(f.TokenURL(), f.TenantID(), "common", 1), Scopes: []string{teamstest.Scope}},
	} {
		if _, err := c.Token(ctx); err == nil {
			t.Errorf("%s: the fake issued a token", name)
		}
	}
	res, err := http.Post(f.ServiceURL()+"v3/conversations/x/activities", "application/json", strings.NewReader(`{"type":"message"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("Connector without a token = %d; want 401", res.StatusCode)
	}

	// Tokens: capture one from a delivery to a recording endpoint.
	var got string
	srv := http.Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/messages", func(w http.ResponseWriter, r *http.Request) {
		got = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	})
	ln := newListener(t)
	srv.Handler = mux
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	f.SetEndpoint("http://" + ln.Addr().String() + "/api/messages")
	u := f.AddUser(teamstest.User{AADObjectID: "8f1c2a6e-0001-4c1a-9a11-a11ce0000001", UPN: "alice@contoso.example"})
	if _, err := f.Say(u, "hi"); err != nil {
		t.Fatal(err)
	}
	mres, err := http.Get(f.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	err = json.NewDecoder(mres.Body).Decode(&md)
	mres.Body.Close()
	if err != nil || md.Issuer != teamstest.Issuer || md.JWKSURI == "" {
		t.Fatalf("metadata %+v, %v", md, err)
	}
	keys := oidc.NewRemoteKeySet(ctx, md.JWKSURI)
	verifier := func(aud string) *oidc.IDTokenVerifier {
		return oidc.NewVerifier(teamstest.Issuer, keys, &oidc.Config{ClientID: aud, SupportedSigningAlgs: []string{oidc.RS256}})
	}
	if _, err := verifier(f.AppID()).Verify(ctx, got); err != nil {
		t.Errorf("the fake's token does not verify: %v", err)
	}
	if _, err := verifier("someone-else").Verify(ctx, got); err == nil {
		t.Error("the fake's token verifies for another audience")
	}
}

// TestOnMessage: a fake made with Start hands every activity the bot posts,
// and every update of one, to OnMessage, as it is after.
func TestOnMessage(t *testing.T) {
	var mu sync.Mutex // OnMessage runs on the fake's goroutines
	var got []teamstest.Message
	f, err := teamstest.Start(teamstest.Options{OnMessage: func(m teamstest.Message) { mu.Lock(); got = append(got, m); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conv := f.PersonalChat(f.AddUser(teamstest.User{UPN: "alice@contoso.example"}))
	cc := clientcredentials.Config{ClientID: f.AppID(), ClientSecret: f.AppPassword(), TokenURL: f.TokenURL(), Scopes: []string{teamstest.Scope}}
	c := cc.Client(context.Background())
	base := f.ServiceURL() + "v3/conversations/" + conv + "/activities"
	resp, err := c.Post(base, "application/json", strings.NewReader(`{"type":"message","text":"first"}`))
	if err != nil {
		t.Fatal(err)
	}
	var posted struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&posted)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodPut, base+"/"+posted.ID, strings.NewReader(`{"type":"message","text":"second"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].ID != posted.ID || got[0].Text != "first" || got[1].ID != posted.ID || got[1].Text != "second" || got[1].ConversationID != conv {
		t.Errorf("OnMessage saw %+v; want the post, then its update", got)
	}
}
