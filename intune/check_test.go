package intune

import (
	"context"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/intune/graphtest"
	"github.com/passcodebot/passcodebot/resetflow"
)

func TestCheck(t *testing.T) {
	t.Run("all good", func(t *testing.T) {
		h := newHarness(t, nil)
		r, err := h.c.Check(context.Background(), aliceUPN)
		if h.record(err) != nil {
			t.Fatal(err)
		}
		if !r.TokenOK || len(r.Missing) != 0 || r.User.UPN != aliceUPN || len(r.Devices) != 5 || r.Devices[0].UserID != aliceID {
			t.Fatalf("report = %+v; want token, no missing permission, Alice and 5 devices", r)
		}
		if want := []string{graphtest.RolePrivileged, graphtest.RoleRead}; /* sorted */ strings.Join(r.Roles, ",") != strings.Join(want, ",") {
			t.Errorf("roles = %v; want %v", r.Roles, want)
		}
		var out strings.Builder
		if err := r.Write(&out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Token:", "ok", "Alice's Pixel 8", string(resetflow.ModeAndroidEnterpriseCorporateProfile), "dev-lumia", "Devices:", "5"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
		if strings.Contains(out.String(), "MISSING") || strings.Contains(out.String(), h.srv.ClientSecret) {
			t.Errorf("output:\n%s", out.String())
		}
		for _, tok := range h.srv.Tokens() {
			if strings.Contains(out.String(), tok) {
				t.Errorf("output shows the token")
			}
		}
		if c := h.srv.Counts(); c.Resets != 0 {
			t.Errorf("check sent %d resets; want none", c.Resets)
		}
	})
	t.Run("missing privileged operations", func(t *testing.T) {
		h := newHarness(t, nil, graphtest.Options{PageSize: 2, Roles: []string{graphtest.RoleRead}})
		r, err := h.c.Check(context.Background(), aliceUPN)
		if h.record(err) != nil {
			t.Fatal(err)
		}
		if len(r.Missing) != 1 || r.Missing[0] != graphtest.RolePrivileged {
			t.Errorf("missing = %v; want [%s]", r.Missing, graphtest.RolePrivileged)
		}
		var out strings.Builder
		r.Write(&out)
		if !strings.Contains(out.String(), "MISSING:") {
			t.Errorf("output does not flag the missing permission:\n%s", out.String())
		}
	})
	t.Run("directory lookup needs User.ReadBasic.All", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.UserLookup = LookupDirectory })
		r, err := h.c.Check(context.Background(), aliceUPN)
		h.record(err)
		if err == nil || !strings.Contains(err.Error(), "looking up") {
			t.Fatalf("err = %v; want the lookup step to fail", err)
		}
		wantKind(t, err, resetflow.KindForbidden)
		if len(r.Missing) != 1 || r.Missing[0] != "User.ReadBasic.All" {
			t.Errorf("missing = %v; want [User.ReadBasic.All]", r.Missing)
		}
	})
	t.Run("bad secret fails at the token step", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.ClientSecret = "wrong" })
		r, err := h.c.Check(context.Background(), aliceUPN)
		h.record(err)
		if err == nil || !strings.Contains(err.Error(), "getting a token") || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("err = %v; want a token step failure with invalid_client", err)
		}
		var out strings.Builder
		r.Write(&out)
		if !strings.Contains(out.String(), "FAILED") {
			t.Errorf("output:\n%s", out.String())
		}
	})
}

func TestTokenRoles(t *testing.T) {
	tests := map[string][]string{
		"not-a-jwt":                      nil,
		"a.!!!.c":                        nil,
		"a.e30.c":                        {}, // {} : no roles claim
		"a.eyJyb2xlcyI6WyJiIiwiYSJdfQ.c": {"a", "b"},
	}
	for tok, want := range tests {
		got := tokenRoles(tok)
		if (got == nil) != (want == nil) || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("tokenRoles(%q) = %#v; want %#v", tok, got, want)
		}
	}
}

func TestRunCheck(t *testing.T) {
	h := newHarness(t, nil)
	var out strings.Builder
	if err := RunCheck(context.Background(), h.cfg, Options{Clock: h.clk}, aliceUPN, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "dev-pixel") {
		t.Errorf("output:\n%s", out.String())
	}
	bad := h.cfg
	bad.GraphURL = "http://graph.example"
	if err := RunCheck(context.Background(), bad, Options{}, aliceUPN, &out); err == nil || !strings.HasPrefix(err.Error(), "intune.graph_url: ") {
		t.Errorf("RunCheck with a bad config = %v; want an intune.graph_url error", err)
	}
}
