// Package httppool is the HTTP transport of the bot's API clients (Slack,
// Discord, Bot Framework, Graph): each talks to one or two hosts with many
// people's requests at once. net/http's default transport keeps two idle
// connections per host, so a burst opened (and, over TLS, handshook) a
// connection per request beyond two and closed it after: dialling was 11 % of
// the bot's CPU on Discord at 1,000 employees at once (issue 17).
package httppool

import "net/http"

// PerHost is how many connections to one host are kept open, and the most
// used at once: more requests wait for one rather than open sockets without
// bound.
const PerHost = 64

// Transport is a new transport as net/http's default one, keeping PerHost
// connections per host.
func Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = PerHost
	tr.MaxConnsPerHost = PerHost
	return tr
}
