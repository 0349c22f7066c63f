package resetflow

import "testing"

// TestParseTextBasics: what a person types -> what the engine understands.
func TestParseTextBasics(t *testing.T) {
	for _, c := range []struct {
		in   string
		cmd  command
		want int
	}{
		{"", cmdUnknown, 0},
		{"   ", cmdUnknown, 0},
		{"reset", cmdReset, 0},
		{"/reset", cmdReset, 0},
		{"Reset my passcode please!", cmdReset, 0},
		{"I forgot my PIN", cmdReset, 0},
		{"unlock", cmdReset, 0},
		{"パスコードをリセットしたい", cmdReset, 0},
		{"暗証番号を忘れました。", cmdReset, 0},
		{"2", cmdNumber, 2},
		{" 12 ", cmdNumber, 12},
		{"2.", cmdNumber, 2},
		{"-1", cmdNumber, -1},
		{"cancel", cmdCancel, 0},
		{"STOP!", cmdCancel, 0},
		{"キャンセル", cmdCancel, 0},
		{"やめる。", cmdCancel, 0},
		{"help", cmdHelp, 0},
		{"/help", cmdHelp, 0},
		{"h", cmdHelp, 0},
		{"ヘルプ？", cmdHelp, 0},
		{"unlink", cmdUnlink, 0},
		{"連携解除", cmdUnlink, 0},
		{"hello", cmdUnknown, 0},
		{"cancel my reset", cmdReset, 0}, // longer input is matched by keywords
		{"two", cmdUnknown, 0},
	} {
		if cmd, n := parseText(c.in); cmd != c.cmd || n != c.want {
			t.Errorf("parseText(%q) = %v, %d; want %v, %d", c.in, cmd, n, c.cmd, c.want)
		}
	}
}

// TestIsOwner: who signed in, against the device's primary user (or the chat
// user when the device names none), by object id or by UPN, in the tenant.
func TestIsOwner(t *testing.T) {
	alice := User{ID: "oid-alice", UPN: "alice@contoso.example"}
	dev := Device{UserID: "oid-alice", UserUPN: "alice@contoso.example"}
	unnamed := Device{}
	for _, c := range []struct {
		name    string
		matchBy MatchBy
		tenant  string
		d       Device
		who     Identity
		want    bool
	}{
		{"oid: same object id", MatchByObjectID, "", dev, Identity{Subject: "oid-alice"}, true},
		{"oid: other object id", MatchByObjectID, "", dev, Identity{Subject: "oid-bob", UPN: "alice@contoso.example"}, false},
		{"oid: no object id", MatchByObjectID, "", dev, Identity{UPN: "alice@contoso.example"}, false},
		{"oid: device without user falls back to the chat user", MatchByObjectID, "", unnamed, Identity{Subject: "oid-alice"}, true},
		{"oid: object ids are case-sensitive", MatchByObjectID, "", dev, Identity{Subject: "OID-ALICE"}, false},
		{"upn: same upn, any case", MatchByUPN, "", dev, Identity{UPN: "Alice@Contoso.Example"}, true},
		{"upn: other upn", MatchByUPN, "", dev, Identity{Subject: "oid-alice", UPN: "bob@contoso.example"}, false},
		{"upn: no upn", MatchByUPN, "", dev, Identity{Subject: "oid-alice"}, false},
		{"upn: device without user falls back to the chat user", MatchByUPN, "", unnamed, Identity{UPN: "alice@contoso.example"}, true},
		{"tenant: same tenant, any case", MatchByObjectID, "contoso", dev, Identity{Subject: "oid-alice", TenantID: "CONTOSO"}, true},
		{"tenant: other tenant", MatchByObjectID, "contoso", dev, Identity{Subject: "oid-alice", TenantID: "fabrikam"}, false},
		{"tenant: none given", MatchByUPN, "contoso", dev, Identity{UPN: "alice@contoso.example"}, false},
	} {
		e := &Engine{cfg: Config{MatchBy: c.matchBy, TenantID: c.tenant}}
		if got := e.isOwner(c.d, alice, c.who); got != c.want {
			t.Errorf("%s: isOwner(%+v) = %v; want %v", c.name, c.who, got, c.want)
		}
	}
}
