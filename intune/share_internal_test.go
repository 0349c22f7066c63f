package intune

import (
	"testing"
	"unsafe"

	"github.com/passcodebot/passcodebot/resetflow"
)

// TestShareDeviceStrings: a listed device keeps the same values, but its
// primary user's id and UPN are the user's own strings and its maker, model
// and OS strings are one copy for every device that has them.
func TestShareDeviceStrings(t *testing.T) {
	u := resetflow.User{ID: "00000000-0000-4000-8000-000000000001", UPN: "ann@contoso.example"}
	mk := func() resetflow.Device {
		// Fresh copies, as a JSON decoder makes them.
		return resetflow.Device{ID: "dev-1", UserID: string([]byte(u.ID)), UserUPN: string([]byte(u.UPN)),
			Maker: string([]byte("Google")), Model: string([]byte("Pixel 8")), OS: string([]byte("Android")), OSVersion: string([]byte("15"))}
	}
	a, b := mk(), mk()
	want := a
	share(&a, u)
	share(&b, u)
	if a != want {
		t.Fatalf("share changed the values: %+v", a)
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	if !same(a.UserID, u.ID) || !same(a.UserUPN, u.UPN) {
		t.Error("the primary user's id and UPN are copies of the user's")
	}
	if !same(a.Maker, b.Maker) || !same(a.Model, b.Model) || !same(a.OS, b.OS) || !same(a.OSVersion, b.OSVersion) {
		t.Error("two devices keep separate copies of the same maker, model or OS")
	}
	other := mk()
	other.UserUPN = "bob@contoso.example"
	share(&other, u)
	if other.UserUPN != "bob@contoso.example" {
		t.Errorf("another user's UPN became %q", other.UserUPN)
	}
}
