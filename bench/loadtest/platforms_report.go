package loadtest

import (
	"fmt"
	"io"
	"text/tabwriter"
)

var platformAck = map[string]string{
	PlatformDiscord: "interaction dispatched -> the bot's interaction callback (REST) accepted",
	PlatformTeams:   "activity POSTed -> the bot's HTTP response",
}

// printPlatforms writes the Discord and Teams levels.
func (r *Report) printPlatforms(w io.Writer) {
	if len(r.Platforms) == 0 {
		return
	}
	fmt.Fprintln(w, "Discord and Teams: passcodebot alone (no floor or echo bot on these platforms), its own fakes and fake Graph per level.")
	fmt.Fprintln(w, "Reply: the person's chat action (\"reset\"; \"Reset passcode\") -> the fake receiving the bot's next message, ms p50 / p95 / p99;")
	fmt.Fprintln(w, "pick: the device link in the browser (GET + POST of the pick page -> the sign-in form); signin: demo form posted -> warning; result: confirm -> passcode:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "platform\temployees at once\tresets\tcompleted\terrors\treply\treset\tpick\tsignin\tconfirm\tresult\t")
	for _, l := range r.Platforms {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", l.Platform, l.Concurrency, l.Resets, l.Completed, l.Errors,
			lat(l.Reply), lat(l.ByAction[actReset]), lat(l.ByAction[actPick]), lat(l.ByAction[actSignIn]), lat(l.ByAction[actConfirm]), lat(l.ByAction[actResult]))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "platform\temployees at once\twall s\tCPU ms per reset\tdriver+fakes CPU s\tpeak RSS MiB\tidle RSS MiB\tlive heap after MiB\tgraph list/reset/result per reset\t")
	for _, l := range r.Platforms {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%.2f\t%s\t%s\t%s\t%.2f / %.2f / %.2f\t\n", l.Platform, l.Concurrency, l.Elapsed.Seconds(),
			perN(l.CPU, l.Completed), l.DriverCPU.Seconds(), mib(l.Bot.Peak), mib(l.Start.IdleRSS), mib(int64(l.Heap)),
			l.Graph.Lists, l.Graph.Resets, l.Graph.Results)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Acknowledgements, ms p50 / p99 / max; late: after %v:\n", AckLate)
	for _, l := range r.Platforms {
		fmt.Fprintf(w, "  %s at %d (%s): %s\n", l.Platform, l.Concurrency, platformAck[l.Platform], ackCell(l.Acks))
	}
	for _, l := range r.Platforms {
		for _, e := range l.FirstErrors {
			fmt.Fprintf(w, "  error, %s at %d: %s\n", l.Platform, l.Concurrency, e)
		}
	}
	fmt.Fprintln(w)
}

// platformTargets are issue 17's targets that apply to passcodebot alone on
// Discord and Teams; those against the floor or the echo bot have no yardstick there.
func (r *Report) platformTargets() []Target {
	var ts []Target
	for _, l := range r.Platforms {
		ts = append(ts,
			Target{fmt.Sprintf("%s: every reset completes at %d", l.Platform, l.Concurrency),
				fmt.Sprintf("%d of %d, %d errors", l.Completed, l.Resets, l.Errors), l.Completed == l.Resets && l.Errors == 0},
			Target{fmt.Sprintf("%s: nothing acknowledged later than %v at %d", l.Platform, AckLate, l.Concurrency),
				fmt.Sprintf("%d late, %d never acknowledged of %d; ack p99 %s ms", l.Acks.Late, l.Acks.Missing, l.Acks.Sent, ms(l.Acks.P99)),
				l.Acks.Sent > 0 && l.Acks.Late == 0 && l.Acks.Missing == 0})
		if l.Concurrency == targetAckAt {
			ts = append(ts, Target{fmt.Sprintf("%s: ack p99 under %v at %d", l.Platform, TargetAckP99, l.Concurrency),
				fmt.Sprintf("%s ms", ms(l.Acks.P99)), l.Acks.N > 0 && l.Acks.Missing == 0 && l.Acks.P99 < TargetAckP99})
		}
	}
	return ts
}
