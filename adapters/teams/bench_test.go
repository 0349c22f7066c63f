package teams_test

import (
	"net/http"
	"testing"

	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
)

// BenchmarkAckActivity: the time from a signed activity's POST to the bot's
// 200, over loopback: body read, JWT check (RS256, cached keys), parse,
// dedupe, queueing. The work after the answer is not included, nor the
// fake's signing (the token is made once; a typing activity has no id to dedupe).
func BenchmarkAckActivity(b *testing.B) {
	h := newHarness(b)
	h.run()
	alice := h.fake.AddUser(teamstest.User{AADObjectID: "8f1c2a6e-0003-4c1a-9a11-ca401000003", UPN: "carol@contoso.example"})
	a := h.fake.Activity(alice, "")
	a["type"] = "typing"
	delete(a, "id")
	raw := mustJSON(a)
	tok := h.fake.Token(h.fake.ServiceURL(), teamstest.Sign{})
	b.ResetTimer()
	for range b.N {
		res, err := h.fake.PostWithToken(raw, tok)
		if err != nil || res.Status != http.StatusOK {
			b.Fatalf("%+v %v", res, err)
		}
	}
}
