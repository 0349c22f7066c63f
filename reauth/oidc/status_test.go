package oidc

import (
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
)

// TestStatusNameOfZeroResult: the log names an unfilled sign-in result "unset", never "ok".
func TestStatusNameOfZeroResult(t *testing.T) {
	if got := statusName(resetflow.SignInResult{}.Status); got != "unset" {
		t.Fatalf("statusName(zero) = %q, want %q", got, "unset")
	}
	if got := statusName(resetflow.SignInOK); got != "ok" {
		t.Fatalf("statusName(SignInOK) = %q, want %q", got, "ok")
	}
}
