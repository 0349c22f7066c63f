package fleet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

func TestDemoCoversEveryBranch(t *testing.T) {
	f, err := Load(Demo(), clock.NewFake(time.Now()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rules := resetflow.DefaultRules()
	seen := map[string]bool{}
	empty := false
	for _, u := range f.Users() {
		ds, _ := f.ListDevices(context.Background(), u)
		if len(ds) == 0 {
			empty = true
		}
		for _, d := range ds {
			v := rules.Evaluate(d)
			seen[string(v.Decision)+"/"+string(v.Outcome)] = true
		}
	}
	for _, want := range []string{"allow/passcode_removed", "allow/android_temporary", "allow/work_profile_temporary",
		"allow/windows10_mobile_temporary", "allow/windows_phone81_temporary", "factory_reset/", "contact_support/", "not_supported/"} {
		if !seen[want] {
			t.Errorf("no demo device for %s", want)
		}
	}
	if !empty {
		t.Errorf("no demo user without devices")
	}
}

func TestSimulatedReset(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f, _ := Load(Demo(), clk, 3*time.Second)
	ctx := context.Background()
	dev := f.byID["dev-bob-lumia635"]
	if r, _ := f.ResetResult(ctx, dev); r.State != resetflow.ActionNone {
		t.Errorf("before any reset: %v", r.State)
	}
	if err := f.ResetPasscode(ctx, dev); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	if r, _ := f.ResetResult(ctx, dev); r.State != resetflow.ActionPending || r.Passcode != nil {
		t.Errorf("after 2s: %+v", r)
	}
	clk.Advance(time.Second)
	r, _ := f.ResetResult(ctx, dev)
	if r.State != resetflow.ActionDone || r.Passcode == nil || strings.Trim(r.Passcode.Reveal(), digits) != "" || len(r.Passcode.Reveal()) != 6 {
		t.Errorf("Windows Phone 8.1 result: %+v %q", r, r.Passcode.Reveal())
	}
	if err := f.ResetPasscode(ctx, resetflow.Device{ID: "nope"}); resetflow.KindOf(err) != resetflow.KindNotFound {
		t.Errorf("unknown device: %v", err)
	}
}

func TestRandomPasscode(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		p := randomPasscode(alnum, 8)
		if len(p) != 8 || !strings.ContainsAny(p, "23456789") || strings.Trim(p, alnum) != "" || strings.Trim(p, digits) == "" {
			t.Fatalf("bad passcode %q", p)
		}
		seen[p] = true
	}
	if len(seen) < 500 {
		t.Errorf("repeated passcodes: %d distinct of 500", len(seen))
	}
}

func TestLoadErrors(t *testing.T) {
	for _, bad := range []string{
		"users: [{id: a}]",
		"users: [{id: a, upn: a@x, devices: [{id: d, mode: palm}]}]",
		"users: [{id: a, upn: a@x, devices: [{id: d, mode: ios}, {id: d, mode: ios}]}]",
		"users: [{id: a, upn: a@x, devices: [{id: d, mode: ios, simulate: explode}]}]",
		"people: []",
	} {
		if _, err := Load([]byte(bad), clock.Real{}, 0); err == nil {
			t.Errorf("Load(%q) succeeded", bad)
		}
	}
}
