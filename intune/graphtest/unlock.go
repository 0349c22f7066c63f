package graphtest

import "time"

// DoneAt is when the device's latest passcode reset turns (or turned) done on
// the server's clock: the reset request's time plus its Plan.After. It is false
// for a device without a reset request or whose plan is not time-based.
func (s *Server) DoneAt(deviceID string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.device(deviceID)
	if d == nil || d.Reset.After <= 0 {
		return time.Time{}, false
	}
	for i := len(d.actions) - 1; i >= 0; i-- {
		if d.actions[i].ODataType == ResetPasscodeType {
			return d.actions[i].Start.Add(d.Reset.After), true
		}
	}
	return time.Time{}, false
}
