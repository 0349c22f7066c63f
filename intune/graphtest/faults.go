package graphtest

import (
	"net/http"
)

// Fault is a scripted failure; see the constructors.
type Fault struct {
	name       string
	status     int
	code       string
	retryAfter string
	malformed  bool
	accept     bool // reset: act on the reset before failing
	stall      bool
	drop       bool
	foreign    string
}

// Throttle answers 429 TooManyRequests, with Retry-After when retryAfter is
// not empty (seconds or an HTTP date).
func Throttle(retryAfter string) Fault {
	return Fault{name: "throttle", status: http.StatusTooManyRequests, code: "TooManyRequests", retryAfter: retryAfter}
}

// Unavailable answers 503 ServiceUnavailable, with Retry-After when not empty.
func Unavailable(retryAfter string) Fault {
	return Fault{name: "unavailable", status: http.StatusServiceUnavailable, code: "ServiceUnavailable", retryAfter: retryAfter}
}

// Status answers status with a Graph error body carrying code (on the token
// route, an Entra error body whose "error" is code).
func Status(status int, code string) Fault {
	return Fault{name: "status", status: status, code: code}
}

// ExpiredToken answers 401 InvalidAuthenticationToken, whatever the token.
func ExpiredToken() Fault {
	return Fault{name: "expired", status: http.StatusUnauthorized, code: "InvalidAuthenticationToken"}
}

// Malformed answers 200 with the real body cut short by its last byte: the
// JSON is broken after everything it would have carried.
func Malformed() Fault { return Fault{name: "malformed", malformed: true} }

// StallAfterAccept acts on the reset, then sends nothing until the client
// gives up (or the server closes). Each stall is reported on Stalls.
func StallAfterAccept() Fault { return Fault{name: "stall", accept: true, stall: true} }

// DropAfterAccept acts on the reset, then closes the connection unanswered.
func DropAfterAccept() Fault { return Fault{name: "drop-after-accept", accept: true, drop: true} }

// DropBeforeAccept closes the connection unanswered without doing anything.
func DropBeforeAccept() Fault { return Fault{name: "drop", drop: true} }

// GatewayTimeoutAfterAccept acts on the reset, then answers 504.
func GatewayTimeoutAfterAccept() Fault {
	return Fault{name: "504-after-accept", accept: true, status: http.StatusGatewayTimeout, code: "GatewayTimeout"}
}

// ForeignNextLink answers the list page with an @odata.nextLink on base (e.g.
// "https://evil.example") instead of this server.
func ForeignNextLink(base string) Fault { return Fault{name: "foreign-next-link", foreign: base} }

func (s *Server) takeFault(route Route) *Fault {
	q := s.faults[route]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	s.faults[route] = q[1:]
	return &f
}

func faultMessage(f *Fault) string {
	switch f.status {
	case http.StatusTooManyRequests:
		return "Too many requests. Please try again later."
	case http.StatusServiceUnavailable:
		return "The service is temporarily unavailable. Please try again later."
	case http.StatusGatewayTimeout:
		return "The gateway did not receive a response in time."
	case http.StatusUnauthorized:
		return "Access token has expired or is not yet valid."
	}
	return "Scripted failure (" + http.StatusText(f.status) + ")."
}
