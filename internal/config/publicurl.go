package config

import (
	"fmt"
	"net"
)

// CheckPublicURL refuses the one combination that hands out sign-in links in
// the clear: reauth: oidc with no http.public_url while http.listen is not a
// loopback address. The links would then be http://<listen>/..., readable and
// replayable on the network. (A public_url that is not https is refused by
// validate already, loopback aside.) Main calls it again after -listen.
func (c *Config) CheckPublicURL() error {
	if c.Reauth != "oidc" || c.HTTP.PublicURL != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %q: %v", c.HTTP.Listen, err)
	}
	if isLoopback(host) {
		return nil
	}
	return fmt.Errorf("http.public_url: needed with reauth: oidc when http.listen (%q) is not a loopback address: set it to the bot's https URL (the sign-in links and the OIDC redirect use it)", c.HTTP.Listen)
}
