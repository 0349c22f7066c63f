package loadtest

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of issue 8 (against the echo bot, and the hold and alert runs).
const (
	TargetP50Ratio       = 1.15
	TargetP99Ratio       = 1.5
	TargetRSSRatio       = 1.5
	TargetHeapPerConv    = 2048
	TargetResultPolls    = 10 // result reads per reset: bounded by the poll backoff
	TargetAlertsWithin   = 60 * time.Second
	targetRSSAtEmployees = 1000
	targetHoldComparedAt = 100
)

// Targets of issue 17 (against the floor, and the bot's own footprint).
const (
	TargetFloorP50   = 1.15
	TargetFloorP99   = 1.5
	TargetFloorCPU   = 1.3 // bot CPU per completed reset over the floor's
	TargetFloorRSS   = 1.5 // peak RSS at targetRSSAtEmployees
	TargetIdleRSS    = 20 << 20
	AckLate          = 3 * time.Second // Slack's (and Discord's) deadline
	TargetAckP99     = 50 * time.Millisecond
	targetAckAt      = 1000
	TargetStartReady = 200 * time.Millisecond
	TargetBinary     = 20_000_000 // bytes (20 MB)
)

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func perN(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(n)
}

func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func lat(l Latencies) string { return ms(l.P50) + " / " + ms(l.P95) + " / " + ms(l.P99) }

func ackCell(a Acks) string {
	return fmt.Sprintf("%s / %s / %s (%d late, %d unacked of %d)", ms(a.P50), ms(a.P99), ms(a.Max), a.Late, a.Missing, a.Sent)
}

// medianStart is the median of the separate starts' figures.
func medianStart(ss []Startup) (ready time.Duration, idle int64) {
	if len(ss) == 0 {
		return 0, 0
	}
	rs := make([]time.Duration, len(ss))
	is := make([]time.Duration, len(ss))
	for i, s := range ss {
		rs[i], is[i] = s.Ready, time.Duration(s.IdleRSS)
	}
	slices.Sort(rs)
	slices.Sort(is)
	return rs[(len(rs)-1)/2], int64(is[(len(is)-1)/2])
}

// Print writes the report as tables, then the targets met and missed.
func (r *Report) Print(w io.Writer) {
	if len(r.Levels) > 0 {
		fmt.Fprintln(w, "Reply time per user action (envelope sent -> the bot's post received by the fake Slack), ms p50 / p95 / p99;")
		fmt.Fprintln(w, "floor: bench/baseline/floor through the same resets; echo: bench/baseline, the same number of round trips:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "employees at once\tresets\tcompleted bot/floor\terrors bot/floor/echo\tpasscodebot\tfloor\techo\tp50 x floor\tp99 x floor\tp50 x echo\tp99 x echo\t")
		for _, l := range r.Levels {
			f := l.floor()
			fmt.Fprintf(tw, "%d\t%d\t%d / %d\t%d / %d / %d\t%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t\n",
				l.Concurrency, l.Resets, l.Completed, f.Completed, l.Errors, f.Errors, l.BaselineErrors,
				lat(l.Reply), lat(f.Reply), lat(l.Baseline), l.FloorP50(), l.FloorP99(), l.RatioP50(), l.RatioP99())
		}
		tw.Flush()
		fmt.Fprintln(w)
		fmt.Fprintln(w, "By action, ms p50 / p95 / p99 (signin: demo form posted -> warning; result: confirm -> passcode, includes Graph polling):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "employees at once\tbot\treset\tpick\tsignin\tconfirm\tresult\t")
		for _, l := range r.Levels {
			for _, b := range []struct {
				name string
				l    Level
			}{{"passcodebot", l}, {"floor", l.floor()}} {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", l.Concurrency, b.name,
					lat(b.l.ByAction[actReset]), lat(b.l.ByAction[actPick]), lat(b.l.ByAction[actSignIn]),
					lat(b.l.ByAction[actConfirm]), lat(b.l.ByAction[actResult]))
			}
		}
		tw.Flush()
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Wall time, CPU time and memory (the bots, and the driver with the fakes, share the machine's cores):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "employees at once\twall s bot/floor/echo\tCPU ms per reset bot / floor\tCPU x floor\techo CPU ms per 3 round trips\tdriver+fakes CPU s bot/floor/echo\tpeak RSS MiB bot / floor / echo\tRSS x floor\tRSS x echo\tbot live heap after MiB\tgraph list/reset/result per reset bot\t")
		for _, l := range r.Levels {
			f := l.floor()
			fmt.Fprintf(tw, "%d\t%.1f / %.1f / %.1f\t%.2f / %.2f\t%.2f\t%.2f\t%.2f / %.2f / %.2f\t%s / %s / %s\t%.2f\t%.2f\t%s\t%.2f / %.2f / %.2f\t\n", l.Concurrency,
				l.Elapsed.Seconds(), f.Elapsed.Seconds(), l.BaselineElapsed.Seconds(),
				perN(l.CPU, l.Completed), perN(f.CPU, f.Completed), l.FloorCPU(), perN(l.BaselineCPU, l.Resets),
				l.DriverCPU.Seconds(), f.DriverCPU.Seconds(), l.BaselineDriverCPU.Seconds(),
				mib(l.Bot.Peak), mib(f.Bot.Peak), mib(l.BaselineMemory.Peak), l.FloorRSS(), l.RatioRSS(), mib(int64(l.Heap)),
				l.Graph.Lists, l.Graph.Resets, l.Graph.Results)
		}
		tw.Flush()
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Slack Web API calls per completed reset (the fake's count, whole level), bot / floor:")
		for _, l := range r.Levels {
			fmt.Fprintf(w, "  %d: %s\n", l.Concurrency, apiCell(l.API, l.floor().API))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Durable writes and syncs to disk per completed reset (concurrent writes share a sync), bot / floor:")
		for _, l := range r.Levels {
			fmt.Fprintf(w, "  %d: %s\n", l.Concurrency, durableCell(l.Durable, l.floor().Durable))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Heap allocated and garbage collections per completed reset, bot / floor:")
		for _, l := range r.Levels {
			fmt.Fprintf(w, "  %d: %s\n", l.Concurrency, allocCell(l.Allocs, l.floor().Allocs))
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Socket Mode acknowledgements (envelope written -> its ack read by the fake), ms p50 / p99 / max; late: after %v:\n", AckLate)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "employees at once\tpasscodebot\tfloor\techo\t")
		for _, l := range r.Levels {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t\n", l.Concurrency, ackCell(l.Acks), ackCell(l.floor().Acks), ackCell(l.BaselineAcks))
		}
		tw.Flush()
		for _, l := range r.Levels {
			for _, e := range append(append(l.FirstErrors, l.floor().FirstErrors...), l.BaselineFirstErr...) {
				fmt.Fprintf(w, "  error at %d: %s\n", l.Concurrency, e)
			}
		}
		fmt.Fprintln(w)
	}
	r.printPlatforms(w)
	if len(r.Starts) > 0 || len(r.Levels) > 0 {
		fmt.Fprintf(w, "Start (process start -> /readyz 200; -> Socket Mode connected) and idle RSS (%v after both, no conversation):\n", idleSettle)
		for i, st := range r.Starts {
			fmt.Fprintf(w, "  passcodebot start %d: ready %s ms, connected %s ms, idle RSS %s MiB (anonymous %s, file %s), live heap %s MiB\n",
				i+1, ms(st.Ready), ms(st.Connected), mib(st.IdleRSS), mib(st.IdleAnon), mib(st.IdleFile), mib(int64(st.IdleHeap)))
		}
		for _, l := range r.Levels {
			fmt.Fprintf(w, "  level %d: passcodebot ready %s ms, connected %s ms, idle RSS %s MiB (anonymous %s, file %s); floor connected %s ms, idle RSS %s MiB (anonymous %s, file %s)\n",
				l.Concurrency, ms(l.Start.Ready), ms(l.Start.Connected), mib(l.Start.IdleRSS), mib(l.Start.IdleAnon), mib(l.Start.IdleFile),
				ms(l.floor().Start.Connected), mib(l.floor().Start.IdleRSS), mib(l.floor().Start.IdleAnon), mib(l.floor().Start.IdleFile))
		}
		fmt.Fprintf(w, "  passcodebot binary (CGO_ENABLED=0 go build %s): %.1f MB\n", strings.Join(ReleaseFlags, " "), float64(r.BinarySize)/1e6)
		fmt.Fprintln(w)
	}
	if h := r.Hold; h != nil {
		fmt.Fprintf(w, "Held open: %d conversations (bot reports %d open, %d errors); live heap %s -> %s MiB: %.0f bytes per conversation; RSS %s MiB (peak %s)\n",
			h.Conversations, h.Open, h.Errors, mib(int64(h.HeapBefore)), mib(int64(h.HeapAfter)), h.PerConversation, mib(h.Bot.RSS), mib(h.Bot.Peak))
		fmt.Fprintf(w, "  opening them (DM -> device list), ms p50 / p95 / p99: %s\n", lat(h.Opening))
		fmt.Fprintf(w, "  %d resets, %d at once, in the same bot (after a warm-up), reply ms p50 / p95 / p99:\n", h.Control.Resets, h.Control.Concurrency)
		fmt.Fprintf(w, "    before opening them:  %s (%d completed, %d errors)\n", lat(h.Control.Reply), h.Control.Completed, h.Control.Errors)
		fmt.Fprintf(w, "    while holding them:   %s (%d completed, %d errors)\n", lat(h.Load.Reply), h.Load.Completed, h.Load.Errors)
		for _, e := range append(append(h.FirstErrors, h.Control.FirstErrors...), h.Load.FirstErrors...) {
			fmt.Fprintf(w, "  error: %s\n", e)
		}
		fmt.Fprintln(w)
	}
	if a := r.Alerts; a != nil {
		fmt.Fprintf(w, "Helpdesk alert burst: %d alerts raised over %.1f s into one channel limited to 1 post/s\n", a.Raised, a.Over.Seconds())
		fmt.Fprintf(w, "  delivered in full %d, incomplete %d, duplicated %d, lost %d, late (after %v) %d\n",
			a.Delivered, a.Incomplete, a.Duplicates, a.Lost, a.Within, a.Late)
		fmt.Fprintf(w, "  all delivered %.1f s after the first; delay click -> post p50 %.1f s, max %.1f s; %d posts (at most %d alerts each), %d refused with 429\n",
			a.AllIn.Seconds(), a.Delay.P50.Seconds(), a.Delay.Max.Seconds(), a.Posts, a.MaxPerPost, a.RateLimited)
		for _, e := range a.FirstErrors {
			fmt.Fprintf(w, "  error: %s\n", e)
		}
		fmt.Fprintln(w)
	}
	if u := r.Unlock; u != nil {
		u.print(w)
	}
	fmt.Fprintln(w, "Targets:")
	for _, t := range r.Targets() {
		mark := "MET   "
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, t.Name, t.Got)
	}
}

// Target is one of the issues' targets and what the run measured.
type Target struct {
	Name string
	Got  string
	Met  bool
}

// Targets judges the run against the issues' targets, for what it measured:
// issue 17's (against the floor, the footprint) first, then issue 8's.
func (r *Report) Targets() []Target {
	var ts []Target
	for _, l := range r.Levels {
		f := l.floor()
		ok := l.Reply.N > 0 && f.Reply.N > 0
		ts = append(ts,
			Target{fmt.Sprintf("reply p50 within %.2fx of the floor at %d", TargetFloorP50, l.Concurrency),
				fmt.Sprintf("%.2fx (%s vs %s ms)", l.FloorP50(), ms(l.Reply.P50), ms(f.Reply.P50)), ok && l.FloorP50() <= TargetFloorP50},
			Target{fmt.Sprintf("reply p99 within %.2fx of the floor at %d", TargetFloorP99, l.Concurrency),
				fmt.Sprintf("%.2fx (%s vs %s ms)", l.FloorP99(), ms(l.Reply.P99), ms(f.Reply.P99)), ok && l.FloorP99() <= TargetFloorP99},
			Target{fmt.Sprintf("bot CPU per completed reset within %.1fx of the floor's at %d", TargetFloorCPU, l.Concurrency),
				fmt.Sprintf("%.2fx (%.2f vs %.2f ms)", l.FloorCPU(), perN(l.CPU, l.Completed), perN(f.CPU, f.Completed)), l.Completed > 0 && f.Completed > 0 && l.FloorCPU() <= TargetFloorCPU},
			Target{fmt.Sprintf("no envelope acknowledged later than %v at %d", AckLate, l.Concurrency),
				fmt.Sprintf("%d late, %d never acknowledged of %d; ack p99 %s ms", l.Acks.Late, l.Acks.Missing, l.Acks.Sent, ms(l.Acks.P99)),
				l.Acks.Sent > 0 && l.Acks.Late == 0 && l.Acks.Missing == 0})
		if l.Concurrency == targetAckAt {
			ts = append(ts, Target{fmt.Sprintf("ack p99 under %v at %d", TargetAckP99, l.Concurrency),
				fmt.Sprintf("%s ms", ms(l.Acks.P99)), l.Acks.N > 0 && l.Acks.Missing == 0 && l.Acks.P99 < TargetAckP99})
		}
		if l.Concurrency == targetRSSAtEmployees {
			ts = append(ts, Target{fmt.Sprintf("peak RSS at %d within %.1fx of the floor's", l.Concurrency, TargetFloorRSS),
				fmt.Sprintf("%.2fx (%s vs %s MiB)", l.FloorRSS(), mib(l.Bot.Peak), mib(f.Bot.Peak)), f.Bot.Peak > 0 && l.FloorRSS() <= TargetFloorRSS})
		}
	}
	if len(r.Starts) > 0 {
		ready, idle := medianStart(r.Starts)
		ts = append(ts,
			Target{fmt.Sprintf("idle RSS (ready, no conversation) at most %s MiB", mib(TargetIdleRSS)),
				fmt.Sprintf("%s MiB (median of %d starts)", mib(idle), len(r.Starts)), idle > 0 && idle <= TargetIdleRSS},
			Target{fmt.Sprintf("start to ready (/readyz 200) at most %v", TargetStartReady),
				fmt.Sprintf("%s ms (median of %d starts)", ms(ready), len(r.Starts)), ready > 0 && ready <= TargetStartReady})
	}
	if r.BinarySize > 0 {
		ts = append(ts, Target{fmt.Sprintf("release binary at most %d MB", TargetBinary/1_000_000),
			fmt.Sprintf("%.1f MB (%d bytes)", float64(r.BinarySize)/1e6, r.BinarySize), r.BinarySize <= TargetBinary})
	}
	var at100 *Level
	for i, l := range r.Levels {
		if l.Concurrency == targetHoldComparedAt {
			at100 = &r.Levels[i]
		}
		ts = append(ts,
			Target{fmt.Sprintf("reply p50 within %.2fx of the echo bot at %d", TargetP50Ratio, l.Concurrency),
				fmt.Sprintf("%.2fx (%s vs %s ms)", l.RatioP50(), ms(l.Reply.P50), ms(l.Baseline.P50)), l.RatioP50() <= TargetP50Ratio && l.Reply.N > 0},
			Target{fmt.Sprintf("reply p99 within %.2fx of the echo bot at %d", TargetP99Ratio, l.Concurrency),
				fmt.Sprintf("%.2fx (%s vs %s ms)", l.RatioP99(), ms(l.Reply.P99), ms(l.Baseline.P99)), l.RatioP99() <= TargetP99Ratio && l.Reply.N > 0},
			Target{fmt.Sprintf("every reset completes at %d (bot, floor; echo without errors)", l.Concurrency),
				fmt.Sprintf("%d and %d of %d, %d errors", l.Completed, l.floor().Completed, l.Resets, l.Errors+l.floor().Errors+l.BaselineErrors),
				l.Completed == l.Resets && l.floor().Completed == l.Resets && l.Errors+l.floor().Errors+l.BaselineErrors == 0},
			Target{fmt.Sprintf("Graph calls per reset at %d: 1 list, 1 reset, at most %d result reads", l.Concurrency, TargetResultPolls),
				fmt.Sprintf("%.2f / %.2f / %.2f", l.Graph.Lists, l.Graph.Resets, l.Graph.Results),
				l.Graph.Lists <= 1 && l.Graph.Resets <= 1 && l.Graph.Results <= TargetResultPolls})
		if l.Concurrency == targetRSSAtEmployees {
			ts = append(ts, Target{fmt.Sprintf("peak RSS at %d within %.1fx of the echo bot's", l.Concurrency, TargetRSSRatio),
				fmt.Sprintf("%.2fx (%s vs %s MiB)", l.RatioRSS(), mib(l.Bot.Peak), mib(l.BaselineMemory.Peak)), l.RatioRSS() <= TargetRSSRatio})
		}
	}
	if h := r.Hold; h != nil {
		ts = append(ts, Target{fmt.Sprintf("%d conversations held open, at most %d bytes of heap each", h.Conversations, TargetHeapPerConv),
			fmt.Sprintf("%d open, %.0f bytes each", h.Open, h.PerConversation), h.Open >= h.Conversations && h.PerConversation <= TargetHeapPerConv})
		got := fmt.Sprintf("%s ms holding them vs %s ms before, same bot (%.2fx)", ms(h.Load.Reply.P99), ms(h.Control.Reply.P99), ratio(h.Load.Reply.P99, h.Control.Reply.P99))
		if at100 != nil && h.Load.Concurrency == at100.Concurrency {
			got += fmt.Sprintf("; level %d above: %s ms", at100.Concurrency, ms(at100.Reply.P99))
		}
		ts = append(ts, Target{fmt.Sprintf("reply p99 with them held no worse than without, at %d at once", h.Load.Concurrency), got,
			h.Load.Reply.P99 <= h.Control.Reply.P99 && h.Load.Errors == 0 && h.Load.Completed == h.Load.Resets})
	}
	if a := r.Alerts; a != nil {
		ts = append(ts, Target{fmt.Sprintf("%d alerts: all delivered in full within %v, none lost", a.Raised, a.Within),
			fmt.Sprintf("%d in full, %d lost, %d late, last after %.1f s", a.Delivered, a.Lost, a.Late, a.AllIn.Seconds()),
			a.Delivered == a.Raised && a.Lost == 0 && a.Late == 0 && a.Incomplete == 0 && a.Duplicates == 0})
	}
	if u := r.Unlock; u != nil {
		ts = append(ts, u.target())
	}
	return append(ts, r.platformTargets()...)
}

// String is the report as Print writes it.
func (r *Report) String() string {
	var b strings.Builder
	r.Print(&b)
	return b.String()
}

// apiCell is "method bot / floor" for every method either called, in name order.
func apiCell(bot, floor map[string]float64) string {
	var names []string
	for m := range bot {
		names = append(names, m)
	}
	for m := range floor {
		if _, ok := bot[m]; !ok {
			names = append(names, m)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	var tb, tf float64
	for _, m := range names {
		fmt.Fprintf(&b, "%s %.2f / %.2f, ", m, bot[m], floor[m])
		tb += bot[m]
		tf += floor[m]
	}
	fmt.Fprintf(&b, "all %.2f / %.2f", tb, tf)
	return b.String()
}

// durableCell says a level's durable writes and syncs per reset, bot / floor.
func durableCell(bot, floor Durable) string {
	return fmt.Sprintf("writes %.2f / %.2f, syncs %.2f / %.2f", bot.Writes, floor.Writes, bot.Syncs, floor.Syncs)
}

// allocCell says a level's heap allocated and GCs per reset, bot / floor.
func allocCell(bot, floor Allocs) string {
	return fmt.Sprintf("%.0f / %.0f KiB, %.3f / %.3f GCs", bot.KiB, floor.KiB, bot.GCs, floor.GCs)
}
