package teams

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
	"github.com/passcodebot/passcodebot/internal/clock"
)

// TestVerifiedTokenKeptUntilItExpires (issue 17): the Bot Framework sends one
// token with every activity for its hour; its signature is checked once, and
// the token is taken again without a check only until it expires (as the
// verifier reads exp, clockSkew late). Other tokens, and bad ones, are each
// checked in full; new keys forget every token checked.
func TestVerifiedTokenKeptUntilItExpires(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	fake := teamstest.New(t, teamstest.Options{Now: clk.Now})
	au := &authenticator{metadataURL: fake.MetadataURL(), issuer: DefaultIssuer, appID: fake.AppID(), client: http.DefaultClient, clk: clk}
	ctx := context.Background()
	tok := fake.Token(fake.ServiceURL(), teamstest.Sign{})
	for range 3 {
		if got, err := au.verify(ctx, "Bearer "+tok); err != nil || got != fake.ServiceURL() {
			t.Fatalf("verify = %q, %v; want the service URL", got, err)
		}
	}
	if au.verified != 1 {
		t.Errorf("the same token was verified %d times; want once", au.verified)
	}
	// A token signed with another key is refused, every time.
	bad := fake.Token(fake.ServiceURL(), teamstest.Sign{OtherKey: true})
	for range 2 {
		if _, err := au.verify(ctx, "Bearer "+bad); err == nil {
			t.Fatal("a token with an unknown key was taken")
		}
	}
	other := fake.Token(fake.ServiceURL(), teamstest.Sign{Age: time.Minute})
	if _, err := au.verify(ctx, "Bearer "+other); err != nil || au.verified != 2 {
		t.Fatalf("another token: %v, %d verifications; want it checked in full", err, au.verified)
	}
	// An hour and the skew later the first token is expired: refused, kept or not.
	clk.Advance(time.Hour + clockSkew + time.Second)
	if _, err := au.verify(ctx, "Bearer "+tok); err == nil {
		t.Fatal("an expired token was taken from the tokens checked")
	}
	// New keys (the metadata read again) forget what was checked.
	fresh := fake.Token(fake.ServiceURL(), teamstest.Sign{})
	if _, err := au.verify(ctx, "Bearer "+fresh); err != nil {
		t.Fatal(err)
	}
	clk.Advance(metadataTTL)
	au.mu.Lock()
	n := len(au.checked)
	au.mu.Unlock()
	if _, err := au.verify(ctx, "Bearer "+fresh); err == nil {
		t.Error("a token expired a day ago was taken")
	}
	if au.mu.Lock(); len(au.checked) >= n && n > 0 {
		t.Errorf("%d tokens kept after the keys were read again; want none of the %d before", len(au.checked), n)
	}
	au.mu.Unlock()
}
