package slack

import (
	"context"
	"testing"
)

// TestSameOrgDecidedWhenAsked: a profile cached before auth.test told the
// adapter its own workspace (a restart notice looked the person up for their
// locale, say) is not taken for a stranger once the workspace is known.
func TestSameOrgDecidedWhenAsked(t *testing.T) {
	a := &Adapter{ready: make(chan struct{})}
	m := &member{id: "U1", teamID: "T0CONTOSO"} // cached while a.teamID was still ""
	a.teamID = "T0CONTOSO"
	close(a.ready)
	if !a.sameOrg(context.Background(), m) {
		t.Error("a member of the bot's workspace, cached before auth.test, was refused")
	}
	if a.sameOrg(context.Background(), &member{id: "U2", teamID: "T0PARTNER"}) {
		t.Error("a member of another workspace was admitted")
	}
	a.entID = "E0GRID"
	if !a.sameOrg(context.Background(), &member{id: "U3", teamID: "T0OTHER", entID: "E0GRID"}) {
		t.Error("a member of the bot's Enterprise Grid org was refused")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if (&Adapter{ready: make(chan struct{})}).sameOrg(ctx, m) {
		t.Error("admitted before the adapter knew its workspace")
	}
}
