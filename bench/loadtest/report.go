package loadtest

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// The benchmark's targets.
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

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func perN(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(n)
}

func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func lat(l Latencies) string { return ms(l.P50) + " / " + ms(l.P95) + " / " + ms(l.P99) }

// Print writes the report as tables, then the targets met and missed.
func (r *Report) Print(w io.Writer) {
	if len(r.Levels) > 0 {
		fmt.Fprintln(w, "Reply time per user action (envelope sent -> the bot's post received by the fake Slack), ms p50 / p95 / p99:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "employees at once\tresets\tcompleted\terrors\tpasscodebot\tbaseline\tp50 x\tp99 x\tRSS peak MiB bot/base\tRSS x\tgraph list/reset/result per reset\t")
		for _, l := range r.Levels {
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%s\t%.2f\t%.2f\t%s / %s\t%.2f\t%.2f / %.2f / %.2f\t\n",
				l.Concurrency, l.Resets, l.Completed, l.Errors+l.BaselineErrors, lat(l.Reply), lat(l.Baseline),
				l.RatioP50(), l.RatioP99(), mib(l.Bot.Peak), mib(l.BaselineMemory.Peak), l.RatioRSS(),
				l.Graph.Lists, l.Graph.Resets, l.Graph.Results)
		}
		tw.Flush()
		fmt.Fprintln(w)
		fmt.Fprintln(w, "passcodebot by action, ms p50 / p95 / p99 (signin: demo form posted -> warning; result: confirm -> passcode, includes Graph polling):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "employees at once\treset\tpick\tsignin\tconfirm\tresult\t")
		for _, l := range r.Levels {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t\n", l.Concurrency,
				lat(l.ByAction[actReset]), lat(l.ByAction[actPick]), lat(l.ByAction[actSignIn]),
				lat(l.ByAction[actConfirm]), lat(l.ByAction[actResult]))
		}
		tw.Flush()
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Wall time and CPU time (the bots, and the driver with the fake Slack and Graph, share the machine's cores):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "employees at once\twall s bot/base\tbot CPU s\tbaseline CPU s\tdriver+fakes CPU s bot/base\tbot CPU ms per reset\tbaseline CPU ms per 3 round trips\t")
		for _, l := range r.Levels {
			fmt.Fprintf(tw, "%d\t%.1f / %.1f\t%.2f\t%.2f\t%.2f / %.2f\t%.2f\t%.2f\t\n", l.Concurrency, l.Elapsed.Seconds(), l.BaselineElapsed.Seconds(),
				l.CPU.Seconds(), l.BaselineCPU.Seconds(), l.DriverCPU.Seconds(), l.BaselineDriverCPU.Seconds(),
				perN(l.CPU, l.Completed), perN(l.BaselineCPU, l.Resets))
		}
		tw.Flush()
		for _, l := range r.Levels {
			for _, e := range append(l.FirstErrors, l.BaselineFirstErr...) {
				fmt.Fprintf(w, "  error at %d: %s\n", l.Concurrency, e)
			}
		}
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

// Target is one of the benchmark's targets and what the run measured.
type Target struct {
	Name string
	Got  string
	Met  bool
}

// Targets judges the run against the benchmark's targets, for what it measured.
func (r *Report) Targets() []Target {
	var ts []Target
	var at100 *Level
	for i, l := range r.Levels {
		if l.Concurrency == targetHoldComparedAt {
			at100 = &r.Levels[i]
		}
		ts = append(ts,
			Target{fmt.Sprintf("reply p50 within %.2fx of the baseline at %d", TargetP50Ratio, l.Concurrency),
				fmt.Sprintf("%.2fx (%s vs %s ms)", l.RatioP50(), ms(l.Reply.P50), ms(l.Baseline.P50)), l.RatioP50() <= TargetP50Ratio && l.Reply.N > 0},
			Target{fmt.Sprintf("reply p99 within %.2fx of the baseline at %d", TargetP99Ratio, l.Concurrency),
				fmt.Sprintf("%.2fx (%s vs %s ms)", l.RatioP99(), ms(l.Reply.P99), ms(l.Baseline.P99)), l.RatioP99() <= TargetP99Ratio && l.Reply.N > 0},
			Target{fmt.Sprintf("every reset completes at %d", l.Concurrency),
				fmt.Sprintf("%d of %d, %d errors", l.Completed, l.Resets, l.Errors+l.BaselineErrors), l.Completed == l.Resets && l.Errors+l.BaselineErrors == 0},
			Target{fmt.Sprintf("Graph calls per reset at %d: 1 list, 1 reset, at most %d result reads", l.Concurrency, TargetResultPolls),
				fmt.Sprintf("%.2f / %.2f / %.2f", l.Graph.Lists, l.Graph.Resets, l.Graph.Results),
				l.Graph.Lists <= 1 && l.Graph.Resets <= 1 && l.Graph.Results <= TargetResultPolls})
		if l.Concurrency == targetRSSAtEmployees {
			ts = append(ts, Target{fmt.Sprintf("peak RSS at %d within %.1fx of the baseline's", l.Concurrency, TargetRSSRatio),
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
	return ts
}

// String is the report as Print writes it.
func (r *Report) String() string {
	var b strings.Builder
	r.Print(&b)
	return b.String()
}
