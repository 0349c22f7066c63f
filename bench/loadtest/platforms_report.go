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

// printPlatforms writes the Discord and Teams levels: passcodebot and the floor.
func (r *Report) printPlatforms(w io.Writer) {
	if len(r.Platforms) == 0 {
		return
	}
	fmt.Fprintln(w, "Discord and Teams: passcodebot and the floor (bench/baseline/floor with FLOOR_PLATFORM), each against its own fakes and fake Graph; no echo bot here.")
	fmt.Fprintln(w, "Reply: the person's chat action (\"reset\"; \"Reset passcode\") -> the fake receiving the bot's next message, ms p50 / p95 / p99;")
	fmt.Fprintln(w, "pick: the device link in the browser (GET + POST of the pick page -> the sign-in form); signin: demo form posted -> warning; result: confirm -> passcode:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "platform\temployees at once\tbot\tresets\tcompleted\terrors\treply\treset\tpick\tsignin\tconfirm\tresult\t")
	for _, l := range r.Platforms {
		for _, b := range []struct {
			name string
			l    PlatformLevel
		}{{"passcodebot", l}, {"floor", l.floor()}} {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", l.Platform, l.Concurrency, b.name, b.l.Resets, b.l.Completed, b.l.Errors,
				lat(b.l.Reply), lat(b.l.ByAction[actReset]), lat(b.l.ByAction[actPick]), lat(b.l.ByAction[actSignIn]), lat(b.l.ByAction[actConfirm]), lat(b.l.ByAction[actResult]))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "platform\temployees at once\tp50 x floor\tp99 x floor\twall s bot/floor\tCPU ms per reset bot / floor\tCPU x floor\tdriver+fakes CPU s bot/floor\tpeak RSS MiB bot / floor\tRSS x floor\tidle RSS MiB bot / floor\tbot live heap after MiB\tgraph list/reset/result per reset bot\t")
	for _, l := range r.Platforms {
		f := l.floor()
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.1f / %.1f\t%.2f / %.2f\t%.2f\t%.2f / %.2f\t%s / %s\t%.2f\t%s / %s\t%s\t%.2f / %.2f / %.2f\t\n", l.Platform, l.Concurrency,
			l.FloorP50(), l.FloorP99(), l.Elapsed.Seconds(), f.Elapsed.Seconds(),
			perN(l.CPU, l.Completed), perN(f.CPU, f.Completed), l.FloorCPU(), l.DriverCPU.Seconds(), f.DriverCPU.Seconds(),
			mib(l.Bot.Peak), mib(f.Bot.Peak), l.FloorRSS(), mib(l.Start.IdleRSS), mib(f.Start.IdleRSS), mib(int64(l.Heap)),
			l.Graph.Lists, l.Graph.Resets, l.Graph.Results)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Platform calls per completed reset (the fake's count by route, whole level; Discord REST, Teams Connector and token), bot / floor:")
	for _, l := range r.Platforms {
		fmt.Fprintf(w, "  %s at %d: %s\n", l.Platform, l.Concurrency, apiCell(l.API, l.floor().API))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Idle, 500ms after the bot is ready and connected, before its level's first conversation:")
	for _, l := range r.Platforms {
		f := l.floor()
		fmt.Fprintf(w, "  %s at %d: passcodebot RSS %s MiB (anonymous %s, file %s), live heap %s MiB; floor RSS %s MiB (anonymous %s, file %s)\n",
			l.Platform, l.Concurrency, mib(l.Start.IdleRSS), mib(l.Start.IdleAnon), mib(l.Start.IdleFile), mib(int64(l.Start.IdleHeap)),
			mib(f.Start.IdleRSS), mib(f.Start.IdleAnon), mib(f.Start.IdleFile))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Durable writes and syncs to disk per completed reset, bot / floor:")
	for _, l := range r.Platforms {
		fmt.Fprintf(w, "  %s at %d: %s\n", l.Platform, l.Concurrency, durableCell(l.Durable, l.floor().Durable))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Heap allocated and garbage collections per completed reset, bot / floor:")
	for _, l := range r.Platforms {
		fmt.Fprintf(w, "  %s at %d: %s\n", l.Platform, l.Concurrency, allocCell(l.Allocs, l.floor().Allocs))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Acknowledgements, ms p50 / p99 / max; late: after %v:\n", AckLate)
	for _, l := range r.Platforms {
		fmt.Fprintf(w, "  %s at %d (%s): passcodebot %s; floor %s\n", l.Platform, l.Concurrency, platformAck[l.Platform], ackCell(l.Acks), ackCell(l.floor().Acks))
	}
	for _, l := range r.Platforms {
		for _, e := range append(append([]string(nil), l.FirstErrors...), l.floor().FirstErrors...) {
			fmt.Fprintf(w, "  error, %s at %d: %s\n", l.Platform, l.Concurrency, e)
		}
	}
	fmt.Fprintln(w)
}

// FloorP50, FloorP99, FloorCPU and FloorRSS compare passcodebot with the floor on the same platform.
func (l PlatformLevel) FloorP50() float64 { return ratio(l.Reply.P50, l.floor().Reply.P50) }
func (l PlatformLevel) FloorP99() float64 { return ratio(l.Reply.P99, l.floor().Reply.P99) }
func (l PlatformLevel) FloorCPU() float64 {
	return ratio(l.CPUPerReset(), l.floor().CPUPerReset())
}
func (l PlatformLevel) FloorRSS() float64 {
	if l.floor().Bot.Peak == 0 {
		return 0
	}
	return float64(l.Bot.Peak) / float64(l.floor().Bot.Peak)
}

// platformTargets are issue 17's targets on Discord and Teams: against the
// floor there (when it ran) and the acknowledgements; there is no echo bot.
func (r *Report) platformTargets() []Target {
	var ts []Target
	// Idle RSS, as on Slack: each level starts its own bot; the median of their starts.
	idle := map[string][]Startup{}
	var order []string
	for _, l := range r.Platforms {
		if _, ok := idle[l.Platform]; !ok {
			order = append(order, l.Platform)
		}
		idle[l.Platform] = append(idle[l.Platform], l.Start)
	}
	for _, p := range order {
		_, m := medianStart(idle[p])
		ts = append(ts, Target{fmt.Sprintf("%s: idle RSS (ready, connected, no conversation) at most %s MiB", p, mib(TargetIdleRSS)),
			fmt.Sprintf("%s MiB (median of its %d levels' starts)", mib(m), len(idle[p])), m > 0 && m <= TargetIdleRSS})
	}
	for _, l := range r.Platforms {
		if f := l.Floor; f != nil {
			ok := l.Reply.N > 0 && f.Reply.N > 0
			ts = append(ts,
				Target{fmt.Sprintf("%s: reply p50 within %.2fx of the floor at %d", l.Platform, TargetFloorP50, l.Concurrency),
					fmt.Sprintf("%.2fx (%s vs %s ms)", l.FloorP50(), ms(l.Reply.P50), ms(f.Reply.P50)), ok && l.FloorP50() <= TargetFloorP50},
				Target{fmt.Sprintf("%s: reply p99 within %.2fx of the floor at %d", l.Platform, TargetFloorP99, l.Concurrency),
					fmt.Sprintf("%.2fx (%s vs %s ms)", l.FloorP99(), ms(l.Reply.P99), ms(f.Reply.P99)), ok && l.FloorP99() <= TargetFloorP99},
				Target{fmt.Sprintf("%s: bot CPU per completed reset within %.1fx of the floor's at %d", l.Platform, TargetFloorCPU, l.Concurrency),
					fmt.Sprintf("%.2fx (%.2f vs %.2f ms)", l.FloorCPU(), perN(l.CPU, l.Completed), perN(f.CPU, f.Completed)), l.Completed > 0 && f.Completed > 0 && l.FloorCPU() <= TargetFloorCPU},
				Target{fmt.Sprintf("%s: the floor completes every reset at %d", l.Platform, l.Concurrency),
					fmt.Sprintf("%d of %d, %d errors", f.Completed, f.Resets, f.Errors), f.Completed == f.Resets && f.Errors == 0})
			if l.Concurrency == targetRSSAtEmployees {
				ts = append(ts, Target{fmt.Sprintf("%s: peak RSS at %d within %.1fx of the floor's", l.Platform, l.Concurrency, TargetFloorRSS),
					fmt.Sprintf("%.2fx (%s vs %s MiB)", l.FloorRSS(), mib(l.Bot.Peak), mib(f.Bot.Peak)), f.Bot.Peak > 0 && l.FloorRSS() <= TargetFloorRSS})
			}
		}
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
