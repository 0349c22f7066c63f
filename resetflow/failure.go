package resetflow

// failureText is what the person reads when Intune reports the reset failed: the
// usual cause and what happens next. An iPhone whose passcode removal failed
// may need the helpdesk (and a wipe), so the person is told not to retry.
func (e *Engine) failureText(loc string, r InFlight) string {
	data := map[string]any{"Device": r.Device.Name}
	if r.Outcome == OutcomePasscodeRemoved {
		return e.cat.T(loc, "result_failed_passcode_removed", data)
	}
	return e.cat.T(loc, "result_failed", data)
}

// failureDetail is the helpdesk alert's detail for a failed reset: Intune's state
// and error code, and the likely cause (in the bot's default language).
func (e *Engine) failureDetail(r InFlight, res ActionResult) string {
	cause := "alert_cause_no_policy"
	if r.Outcome == OutcomePasscodeRemoved {
		cause = "alert_cause_ios_unlock_token"
	}
	return "actionState=" + string(res.State) + " errorCode=" + res.ErrorCode + "; " + e.cat.T(e.cat.Default(), cause)
}
