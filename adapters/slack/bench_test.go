package slack_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
)

// BenchmarkConversation measures one short conversation through the whole bot
// over Socket Mode: "reset", the device list, "cancel", "Cancelled." Twenty
// people talk at once, each in their own DM.
func BenchmarkConversation(b *testing.B) {
	const people, workers = 200, 20
	var fleetYAML strings.Builder
	fleetYAML.WriteString("users:\n")
	for i := range people {
		fmt.Fprintf(&fleetYAML, "  - id: u%03d\n    upn: user%03d@contoso.example\n    name: User %d\n    devices:\n      - {id: d%03d, name: \"Phone %d\", maker: Google, model: Pixel 8, os: Android, version: \"15\", mode: android_enterprise_fully_managed, owner: company}\n", i, i, i, i, i)
	}
	e := start(b, options{fleetYAML: fleetYAML.String()})
	for i := range people {
		e.fs.AddUser(slacktest.User{ID: fmt.Sprintf("U%04d", i), Name: fmt.Sprint(i), Email: fmt.Sprintf("user%03d@contoso.example", i), Locale: "en-US"})
	}
	var ops atomic.Int64
	var ackTotal atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				if ops.Add(1) > int64(b.N) {
					return
				}
				user := fmt.Sprintf("U%04d", (w+n*workers)%people)
				im := slacktest.IM(user)
				before := len(e.fs.Messages(im))
				for _, step := range []struct{ say, want string }{{"reset", "Which device"}, {"cancel", "Cancelled."}} {
					env := e.fs.DM(user, step.say)
					if err := e.fs.Deliver(env); err != nil {
						b.Error(err)
						return
					}
					ack, err := e.fs.WaitAck(e.ctx, env.EnvelopeID)
					if err != nil {
						b.Error(err)
						return
					}
					ackTotal.Add(int64(ack.Latency))
					if err := e.fs.WaitFor(e.ctx, func() bool {
						ms := e.fs.Messages(im)
						return len(ms) > before && strings.Contains(ms[len(ms)-1].Texts(), step.want)
					}); err != nil {
						b.Error(err)
						return
					}
					before = len(e.fs.Messages(im))
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "conversations/s")
	b.ReportMetric(float64(ackTotal.Load())/float64(2*b.N)/1e6, "ms/ack")
	b.ReportMetric(float64(len(e.fs.CallsWhere(slacktest.Method("users.info"))))/float64(b.N), "users.info/op")
}
