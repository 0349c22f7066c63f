package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// Bot Framework's token issuer and metadata (Azure public cloud).
const (
	DefaultIssuer      = "https://api.botframework.com"
	DefaultMetadataURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
)

// clockSkew is how far the channel's clock may be ahead of ours when a token
// expires, as Microsoft's own SDKs allow.
const clockSkew = 5 * time.Minute

// metadataTTL is how long the OpenID metadata is kept before it is read again
// (Microsoft rotates the keys; the key set itself refreshes on an unknown kid).
const metadataTTL = 24 * time.Hour

// errKeysUnavailable is a token that could not be checked because the keys
// could not be fetched: the channel is asked to try again (503).
var errKeysUnavailable = errors.New("teams: the Bot Framework signing keys are unavailable")

// tokenClaims are the claims the bot checks beyond issuer, audience, expiry and signature.
type tokenClaims struct {
	ServiceURL string `json:"serviceurl"`
}

// authenticator checks the Authorization header of an incoming activity as
// "Authentication with the Bot Connector API" says: a JWT signed with a key
// from the Bot Framework OpenID metadata, issuer api.botframework.com,
// audience the bot's app id, not expired, and a serviceurl claim.
type authenticator struct {
	metadataURL, issuer, appID string
	client                     *http.Client
	clk                        clock.Clock

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	fetched  time.Time
	// checked holds tokens already verified, until they expire: the Bot
	// Framework signs one token and sends it with every activity for its
	// hour, and checking its signature again each time was 12 % of the
	// bot's CPU on Teams at 1,000 people at once (issue 17). Emptied when
	// the keys are read again, and when it holds maxChecked.
	checked  map[string]checkedToken
	verified int // full verifications, for tests
}

// checkedToken is what a verified token said: its serviceurl claim, and
// when it stops being valid (its exp, as the verifier reads it: clockSkew late).
type checkedToken struct {
	serviceURL string
	until      time.Time
}

// maxChecked bounds the verified tokens kept.
const maxChecked = 1024

func (au *authenticator) load(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	au.mu.Lock()
	defer au.mu.Unlock()
	if au.verifier != nil && au.clk.Now().Sub(au.fetched) < metadataTTL {
		return au.verifier, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, au.metadataURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := au.client.Do(req)
	if err != nil {
		if au.verifier != nil {
			return au.verifier, nil // keep the keys we have
		}
		return nil, fmt.Errorf("%w: %v", errKeysUnavailable, err)
	}
	defer resp.Body.Close()
	var md struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if resp.StatusCode != http.StatusOK {
		if au.verifier != nil {
			return au.verifier, nil
		}
		return nil, fmt.Errorf("%w: metadata answered %d", errKeysUnavailable, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&md); err != nil || md.JWKSURI == "" {
		return nil, fmt.Errorf("%w: unreadable metadata", errKeysUnavailable)
	}
	if md.Issuer != "" && md.Issuer != au.issuer {
		return nil, fmt.Errorf("%w: the metadata names issuer %q, not %q", errKeysUnavailable, md.Issuer, au.issuer)
	}
	// The key set fetches with this context for its whole life.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), au.client), md.JWKSURI)
	au.verifier = oidc.NewVerifier(au.issuer, keys, &oidc.Config{
		ClientID:             au.appID,
		SupportedSigningAlgs: []string{oidc.RS256},
		Now:                  func() time.Time { return au.clk.Now().Add(-clockSkew) },
	})
	au.fetched = au.clk.Now()
	clear(au.checked)
	return au.verifier, nil
}

// verify checks the header and returns the token's service URL claim.
func (au *authenticator) verify(ctx context.Context, header string) (string, error) {
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(raw) == "" {
		return "", errors.New("no bearer token")
	}
	raw = strings.TrimSpace(raw)
	v, err := au.load(ctx)
	if err != nil {
		return "", err
	}
	now := au.clk.Now()
	au.mu.Lock()
	ct, ok := au.checked[raw]
	if ok && !now.Before(ct.until) {
		delete(au.checked, raw)
		ok = false
	}
	au.mu.Unlock()
	if ok {
		return ct.serviceURL, nil
	}
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return "", err
	}
	var c tokenClaims
	if err := tok.Claims(&c); err != nil {
		return "", err
	}
	if c.ServiceURL == "" {
		return "", errors.New("the token has no serviceurl claim")
	}
	au.mu.Lock()
	au.verified++
	if !tok.Expiry.IsZero() {
		if au.checked == nil || len(au.checked) >= maxChecked {
			au.checked = map[string]checkedToken{}
		}
		au.checked[raw] = checkedToken{serviceURL: c.ServiceURL, until: tok.Expiry.Add(clockSkew)}
	}
	au.mu.Unlock()
	return c.ServiceURL, nil
}

// sameServiceURL compares service URLs as Microsoft's SDKs do: exactly, but
// with or without the trailing slash.
func sameServiceURL(a, b string) bool {
	return a != "" && strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}
