package resetflow_test

import (
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
)

// TestZeroSignInResultIsNotOK: a sign-in result nobody filled in is not a
// success. SignInOK must never be the zero value of SignInStatus.
func TestZeroSignInResultIsNotOK(t *testing.T) {
	var r resetflow.SignInResult
	if r.Status == resetflow.SignInOK {
		t.Fatal("the zero SignInResult reads as SignInOK")
	}
	if r.Status != resetflow.SignInUnset {
		t.Fatalf("the zero SignInResult has status %d, want SignInUnset (%d)", r.Status, resetflow.SignInUnset)
	}
	for _, s := range []resetflow.SignInStatus{resetflow.SignInOK, resetflow.SignInUnknown, resetflow.SignInExpired, resetflow.SignInStale,
		resetflow.SignInWrongPerson, resetflow.SignInPairing, resetflow.SignInNotFound, resetflow.SignInOtherBrowser} {
		if s == resetflow.SignInUnset {
			t.Errorf("status %d equals SignInUnset", s)
		}
	}
}
