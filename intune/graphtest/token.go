package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// token serves the Entra ID v2.0 token endpoint for client credentials.
func (s *Server) token(r *http.Request, segs []string, f *Fault) answer {
	if f != nil && f.status != 0 {
		return s.aadError(f.status, f.code, "AADSTS50000", "Scripted failure.", f.retryAfter)
	}
	if r.Method != http.MethodPost {
		return s.aadError(http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561", "The endpoint only accepts POST requests.", "")
	}
	if err := r.ParseForm(); err != nil {
		return s.aadError(http.StatusBadRequest, "invalid_request", "AADSTS900144", "The request body must contain the following parameter: 'grant_type'.", "")
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	scope := r.PostForm.Get("scope")
	switch {
	case !strings.EqualFold(segs[0], s.TenantID):
		return s.aadError(http.StatusBadRequest, "invalid_request", "AADSTS90002", fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", segs[0]), "")
	case r.PostForm.Get("grant_type") != "client_credentials":
		return s.aadError(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003", "The app requested an unsupported grant type.", "")
	case id != s.ClientID:
		return s.aadError(http.StatusBadRequest, "unauthorized_client", "AADSTS700016", fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", id, s.TenantID), "")
	case secret != s.ClientSecret:
		return s.aadError(http.StatusUnauthorized, "invalid_client", "AADSTS7000215", "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+s.ClientID+"'.", "")
	case !strings.HasSuffix(scope, "/.default") || strings.Contains(strings.TrimSpace(scope), " "):
		return s.aadError(http.StatusBadRequest, "invalid_scope", "AADSTS1002012", fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope), "")
	}
	now := s.clock.Now()
	tok := s.newToken(now, strings.TrimSuffix(scope, "/.default"))
	s.tokens[tok] = tokenInfo{expires: now.Add(s.lifetime), roles: slices.Clone(s.roles)}
	s.issued = append(s.issued, tok)
	secs := int(s.lifetime / time.Second)
	return jsonAnswer(http.StatusOK, nil, map[string]any{
		"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	})
}

// newToken makes a JWT-shaped access token (unsigned: nobody verifies it here)
// whose claims say what the app may do, like a real app-only Graph token.
func (s *Server) newToken(now time.Time, audience string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	header := enc(map[string]any{"typ": "JWT", "alg": "none"})
	claims := enc(map[string]any{
		"aud": audience, "iss": "https://sts.windows.net/" + s.TenantID + "/",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(s.lifetime).Unix(),
		"appid": s.ClientID, "tid": s.TenantID, "idtyp": "app", "oid": newID(),
		"roles": slices.Clone(s.roles), "uti": randomString(16),
	})
	return header + "." + claims + "." + randomString(32)
}

func (s *Server) aadError(status int, code, aadsts, text, retryAfter string) answer {
	now := s.clock.Now().UTC()
	n, _ := strconv.Atoi(strings.TrimPrefix(aadsts, "AADSTS"))
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	trace, corr := newID(), newID()
	return jsonAnswer(status, h, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("%s: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, text, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{n},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + strconv.Itoa(n),
	})
}
