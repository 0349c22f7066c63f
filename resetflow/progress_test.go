package resetflow_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

// turnsDone is a device whose reset reads pending until doneAt on the fake clock, then done.
type turnsDone struct {
	clk    *clock.Fake
	doneAt time.Time
	mu     sync.Mutex
	reads  int
}

func (d *turnsDone) ListDevices(context.Context, resetflow.User) ([]resetflow.Device, error) {
	return []resetflow.Device{{ID: "d1", UserID: "u1", UserUPN: "u1@x", Name: "Phone", Mode: resetflow.ModeAOSP, OS: "Android", OSVersion: "12"}}, nil
}
func (d *turnsDone) ResetPasscode(context.Context, resetflow.Device) error { return nil }
func (d *turnsDone) ResetResult(context.Context, resetflow.Device) (resetflow.ActionResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	if !d.clk.Now().Before(d.doneAt) {
		return resetflow.ActionResult{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", "Zq7xK2pA"), Started: t0}, nil
	}
	return resetflow.ActionResult{State: resetflow.ActionPending, Started: t0}, nil
}

// stamped records when (on the fake clock) each message was sent.
type stamped struct {
	inner resetflow.Messenger
	clk   *clock.Fake
	mu    sync.Mutex
	at    []time.Time
	msgs  []resetflow.Message
}

func (s *stamped) Send(ctx context.Context, to resetflow.Address, m resetflow.Message) error {
	s.mu.Lock()
	s.at = append(s.at, s.clk.Now())
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	return s.inner.Send(ctx, to, m)
}

// TestTimeToUnlock: during the first two minutes the passcode is sent within 3 s
// of Graph reporting the reset done, on the fake clock.
func TestTimeToUnlock(t *testing.T) {
	for _, after := range []time.Duration{time.Second, 7 * time.Second, 30 * time.Second, 61 * time.Second, 119 * time.Second} {
		t.Run(after.String(), func(t *testing.T) {
			var dev *turnsDone
			var st *stamped
			h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) {
				dev = &turnsDone{clk: d.Clock.(*clock.Fake), doneAt: t0.Add(after)}
				st = &stamped{inner: d.Messenger, clk: d.Clock.(*clock.Fake)}
				d.Devices, d.Directory, d.Messenger = dev, oneUser{}, st
			})
			h.toConfirmScripted("u1@x")
			h.finishReset("u1@x", "was reset successfully")
			st.mu.Lock()
			defer st.mu.Unlock()
			for i, m := range st.msgs {
				if m.Secret != nil {
					if lag := st.at[i].Sub(dev.doneAt); lag < 0 || lag > 3*time.Second {
						t.Errorf("passcode sent %v after Graph turned done; want at most 3s", lag)
					}
					return
				}
			}
			t.Fatal("no passcode sent")
		})
	}
}

// TestProgressMessage: after "Reset passcode" one message is updated in place as
// Intune moves (requested, pending, waiting for the phone to check in), with the
// elapsed time, and ends with a final state; the passcode comes in its own message.
func TestProgressMessage(t *testing.T) {
	var st *stamped
	h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) {
		clk := d.Clock.(*clock.Fake)
		st = &stamped{inner: d.Messenger, clk: clk}
		d.Devices, d.Directory, d.Messenger = &turnsDone{clk: clk, doneAt: t0.Add(95 * time.Second)}, oneUser{}, st
	})
	h.toConfirmScripted("u1@x")
	h.finishReset("u1@x", "was reset successfully")
	st.mu.Lock()
	defer st.mu.Unlock()
	var key string
	var texts []string
	finals := 0
	for _, m := range st.msgs {
		if m.Replace == "" {
			continue
		}
		if key == "" {
			key = m.Replace
		}
		if m.Replace != key {
			t.Fatalf("two progress messages: %q and %q", key, m.Replace)
		}
		if m.Secret != nil || m.Interactive() {
			t.Fatalf("a progress update carries a secret or buttons: %+v", m)
		}
		texts = append(texts, m.Text)
		if m.Final {
			finals++
		}
	}
	if !strings.HasPrefix(texts[0], "Resetting the passcode of Phone.") {
		t.Errorf("the first progress message is not the click's answer: %q", texts[0])
	}
	want := []string{"pending in Intune, waiting for the device (0:02)", "waiting for the device to check in (0:30)",
		"it doesn't need to be unlocked", "done after 1:36"}
	all := strings.Join(texts, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("progress lacks %q:\n%s", w, all)
		}
	}
	if finals != 1 || !st.msgs[indexOfFinal(st.msgs)].Final || !strings.Contains(texts[len(texts)-1], "done after") {
		t.Errorf("want exactly one final update, the last: %d\n%s", finals, all)
	}
	// Updates are few: phase changes and a refresh a minute, not one per read.
	if len(texts) > 8 {
		t.Errorf("%d progress updates for a 95 s reset:\n%s", len(texts), all)
	}
	// The passcode comes after the final state.
	if st.msgs[len(st.msgs)-2].Secret == nil || indexOfFinal(st.msgs) > len(st.msgs)-2 {
		t.Errorf("passcode not after the final progress state")
	}
}

func indexOfFinal(ms []resetflow.Message) int {
	for i, m := range ms {
		if m.Final {
			return i
		}
	}
	return -1
}
