package config

import (
	"testing"
	"time"
)

// TestEngineConfigCarriesGraphSkewAndSecretTTL: reset.graph_skew (default 5s)
// and reset.secret_ttl reach the engine; a graph_skew past a minute is refused.
func TestEngineConfigCarriesGraphSkewAndSecretTTL(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if ec := c.EngineConfig("http://x"); ec.GraphSkew != 5*time.Second || ec.SecretTTL != 10*time.Minute {
		t.Errorf("defaults: graph_skew %v, secret_ttl %v", ec.GraphSkew, ec.SecretTTL)
	}
	c, err = Parse([]byte("reset:\n  graph_skew: 2s\n  secret_ttl: 3m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ec := c.EngineConfig("http://x"); ec.GraphSkew != 2*time.Second || ec.SecretTTL != 3*time.Minute {
		t.Errorf("set: graph_skew %v, secret_ttl %v", ec.GraphSkew, ec.SecretTTL)
	}
	if _, err := Parse([]byte("reset:\n  graph_skew: 2m\n")); err == nil {
		t.Error("graph_skew 2m accepted")
	}
}
