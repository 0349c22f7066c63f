package loadtest

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
)

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(ds)
	want := Latencies{N: 100, P50: 50 * time.Millisecond, P95: 95 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("Summarize(1..100 ms) = %+v; want %+v", got, want)
	}
	if got := Summarize(nil); got != (Latencies{}) {
		t.Errorf("Summarize(nil) = %+v; want zero", got)
	}
	one := Summarize([]time.Duration{7})
	if one.P50 != 7 || one.P99 != 7 || one.Max != 7 {
		t.Errorf("Summarize([7]) = %+v", one)
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tpasscodebot\nVmPeak:\t 1000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nRssAnon:\t   30720 kB\nRssFile:\t   10240 kB\nThreads:\t9\n"
	m, err := ParseStatus(strings.NewReader(status))
	if err != nil || m.Peak != 50<<20 || m.RSS != 40<<20 || m.Anon != 30<<20 || m.File != 10<<20 {
		t.Errorf("ParseStatus = %+v, %v; want peak 50 MiB, RSS 40 MiB, 30 anonymous, 10 file", m, err)
	}
	if _, err := ParseStatus(strings.NewReader("Name:\tx\n")); err == nil {
		t.Error("a status without VmRSS parsed")
	}
}

func TestParseHeapAllocAndMetric(t *testing.T) {
	profile := "heap profile: 1: 2 [3: 4] @ heap/1048576\n\n# runtime.MemStats\n# Alloc = 123\n# HeapAlloc = 4567890\n# Sys = 1\n"
	if n, err := ParseHeapAlloc(strings.NewReader(profile)); err != nil || n != 4567890 {
		t.Errorf("ParseHeapAlloc = %d, %v; want 4567890", n, err)
	}
	if _, err := ParseHeapAlloc(strings.NewReader("nothing")); err == nil {
		t.Error("no HeapAlloc line, no error")
	}
	metrics := "# HELP passcodebot_conversations_open x\n# TYPE passcodebot_conversations_open gauge\npasscodebot_conversations_open 10000\ngo_goroutines 12\n"
	if v, err := ParseMetric(strings.NewReader(metrics), "passcodebot_conversations_open"); err != nil || v != 10000 {
		t.Errorf("ParseMetric = %v, %v; want 10000", v, err)
	}
}

func TestInboxInOrderAndTimeout(t *testing.T) {
	b := newInbox()
	ctx := context.Background()
	for _, m := range []string{"a", "b"} {
		b.push(reply{at: time.Now(), call: slacktest.Call{Method: m}})
	}
	for _, want := range []string{"a", "b"} {
		r, err := b.next(ctx, time.Second)
		if err != nil || r.call.Method != want {
			t.Fatalf("next = %q, %v; want %q", r.call.Method, err, want)
		}
	}
	if _, err := b.next(ctx, 10*time.Millisecond); err != errTimeout {
		t.Errorf("next on an empty inbox = %v; want a timeout", err)
	}
	go b.push(reply{call: slacktest.Call{Method: "late"}})
	if r, err := b.next(ctx, 10*time.Second); err != nil || r.call.Method != "late" {
		t.Errorf("next = %q, %v; want the call pushed while waiting", r.call.Method, err)
	}
}

func TestExpectPostSkipsUpdatesAndRefusals(t *testing.T) {
	b := newInbox()
	b.push(reply{call: slacktest.Call{Method: "chat.update", Status: 200}})
	b.push(reply{call: slacktest.Call{Method: "chat.postMessage", Status: 429, Error: "ratelimited"}})
	b.push(reply{call: slacktest.Call{Method: "chat.postMessage", Status: 200, Text: "hello"}})
	r, err := expectPost(context.Background(), b, time.Second, "hello", hasText("hello"))
	if err != nil || r.call.Text != "hello" {
		t.Fatalf("expectPost = %q, %v", r.call.Text, err)
	}
	b.push(reply{call: slacktest.Call{Method: "chat.postMessage", Status: 200, Text: "something else"}})
	if _, err := expectPost(context.Background(), b, time.Second, "hello", hasText("hello")); err == nil || !strings.Contains(err.Error(), "something else") {
		t.Errorf("an unexpected post: %v; want an error quoting it", err)
	}
	// An update that carries the answer (a click answered in the clicked message) is the answer.
	b.push(reply{call: slacktest.Call{Method: "chat.update", Status: 200, Text: "progress"}})
	b.push(reply{call: slacktest.Call{Method: "chat.update", Status: 200, Text: "hello in place"}})
	if r, err := expectPost(context.Background(), b, time.Second, "hello", hasText("hello")); err != nil || r.call.Text != "hello in place" {
		t.Errorf("expectPost = %q, %v; want the update that answers", r.call.Text, err)
	}
}

func TestAlertsIn(t *testing.T) {
	e, f := employeeAt(7), employeeAt(8)
	title := en.cat.T("en", "alert_title_contact_support")
	blocks, _ := json.Marshal([]map[string]any{
		{"type": "section", "block_id": "alert_digest", "text": map[string]any{"type": "mrkdwn", "text": "*2 helpdesk alerts*"}},
		{"type": "section", "block_id": "alert_x", "text": map[string]any{"type": "mrkdwn",
			"text": title + "\n" + e.email + "\n" + e.device + " (Google Pixel 8)\n`" + dedicatedRule + "`"}},
		{"type": "section", "block_id": "alert_y", "text": map[string]any{"type": "mrkdwn", "text": title + "\n" + f.email}},
	})
	got, err := alertsIn(slacktest.Call{Blocks: blocks}, title)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[7] || got[8] {
		t.Errorf("alertsIn = %v; want 7 in full, 8 incomplete", got)
	}
}

// TestShortRun runs the whole benchmark small: five employees reset at once
// against the real binaries, conversations are held, alerts burst. It checks
// the plumbing (everything completes, nothing is lost), not timings.
func TestShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs passcodebot and the baseline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bins, err := Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	r, err := Run(ctx, Options{
		BotBin: bins.Bot, BaselineBin: bins.Baseline, FloorBin: bins.Floor, WorkDir: dir, Starts: 1,
		Levels: []int{n}, MinResets: n,
		Hold: 20, HoldLoad: n, HoldOpeners: 5,
		Alerts: 20, AlertsOver: 500 * time.Millisecond, AlertsWithin: time.Minute,
		Unlock:    3,
		Timeout:   time.Minute,
		Platforms: []string{PlatformSlack},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", r)

	l := r.Levels[0]
	if l.Completed != n || l.Errors != 0 || l.BaselineErrors != 0 {
		t.Errorf("level %d: %d of %d completed, %d errors (%v), baseline %d errors (%v)",
			n, l.Completed, l.Resets, l.Errors, l.FirstErrors, l.BaselineErrors, l.BaselineFirstErr)
	}
	if l.Reply.N != n*len(chatActions) || l.Baseline.N != n*len(chatActions) {
		t.Errorf("%d bot and %d baseline round trips timed; want %d each", l.Reply.N, l.Baseline.N, n*len(chatActions))
	}
	if f := l.Floor; f == nil || f.Completed != n || f.Errors != 0 || f.Reply.N != n*len(chatActions) || f.Bot.Peak == 0 {
		t.Errorf("the floor: %+v", f)
	} else if f.Graph.Lists != 1 || f.Graph.Resets != 1 || f.Graph.Results < 1 {
		t.Errorf("the floor's Graph calls per reset %+v; want one list, one reset, some result reads", f.Graph)
	}
	// The Web API calls per reset: the floor's are its list (README); the bot's
	// are its messages, users.info once, and what it does beyond the floor.
	wantAPI := map[string]map[string]float64{
		"floor": {"chat.postMessage": 6, "users.info": 1},
		"bot":   {"chat.postMessage": 4, "users.info": 1, "chat.update": 4},
	}
	for name, got := range map[string]map[string]float64{"floor": l.floor().API, "bot": l.API} {
		if !maps.Equal(got, wantAPI[name]) {
			t.Errorf("%s: Web API calls per reset %v; want %v", name, got, wantAPI[name])
		}
	}
	// Durable writes per reset (README, "What the bot keeps through a crash
	// and a power loss"): the floor syncs before each post the promise covers
	// and once after the passcode is shown (6); the bot commits one write
	// before each of those, plus the reset request's record once Graph has
	// answered and the passcode message's ledger beside its delivery (8).
	// Concurrent writes may share a sync, so syncs are at most the writes.
	wantDurable := map[string]float64{"floor": 6, "bot": 8}
	for name, d := range map[string]Durable{"floor": l.floor().Durable, "bot": l.Durable} {
		if d.Writes != wantDurable[name] || d.Syncs <= 0 || d.Syncs > d.Writes {
			t.Errorf("%s: durable writes per reset %+v; want %v writes in at most as many syncs", name, d, wantDurable[name])
		}
	}
	// The heap each allocated per reset is read (a reset allocates some).
	for name, al := range map[string]Allocs{"floor": l.floor().Allocs, "bot": l.Allocs} {
		if al.KiB <= 0 || al.GCs < 0 {
			t.Errorf("%s: allocations per reset %+v; not read", name, al)
		}
	}
	// Every envelope of a reset (DM, device click, confirm click) is acknowledged, by each bot.
	for name, a := range map[string]Acks{"bot": l.Acks, "floor": l.floor().Acks, "echo": l.BaselineAcks} {
		if a.Sent != n*len(chatActions) || a.N != a.Sent || a.Missing != 0 {
			t.Errorf("%s acks: %+v; want %d acknowledged", name, a, n*len(chatActions))
		}
	}
	if len(r.Starts) != 1 || r.Starts[0].Ready <= 0 || r.Starts[0].IdleRSS <= 0 || r.Starts[0].IdleFile <= 0 || r.BinarySize <= 0 {
		t.Errorf("start %+v, binary %d bytes: not measured", r.Starts, r.BinarySize)
	}
	if l.Graph.Lists != 1 || l.Graph.Resets != 1 || l.Graph.Results < 1 {
		t.Errorf("Graph calls per reset %+v; want one list, one reset, some result reads", l.Graph)
	}
	if l.Bot.Peak == 0 || l.BaselineMemory.Peak == 0 || l.Heap == 0 {
		t.Errorf("memory not read: bot %+v, baseline %+v, heap %d", l.Bot, l.BaselineMemory, l.Heap)
	}

	h := r.Hold
	if h == nil || h.Open != 20 || h.Errors != 0 || h.HeapAfter == 0 {
		t.Fatalf("hold: %+v", h)
	}
	if h.Load.Completed != n || h.Load.Errors != 0 || h.Control.Completed != n || h.Control.Errors != 0 {
		t.Errorf("resets before and beside the held conversations: %d and %d of %d, errors %v %v",
			h.Control.Completed, h.Load.Completed, n, h.Control.FirstErrors, h.Load.FirstErrors)
	}

	a := r.Alerts
	if a == nil || a.Delivered != 20 || a.Lost != 0 || a.Incomplete != 0 || a.Duplicates != 0 || a.Errors != 0 {
		t.Fatalf("alerts: %+v", a)
	}
	if u := r.Unlock; u == nil || u.Completed != 3 || u.Errors != 0 || u.Lag.N != 3 {
		t.Errorf("time to unlock: %+v", u)
	}
	if len(r.Targets()) == 0 || !strings.Contains(r.String(), "Targets:") {
		t.Error("the report has no targets")
	}
}

func TestParseStatCPU(t *testing.T) {
	stat := "1234 (pass code)bot) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0"
	if d, err := ParseStatCPU(stat); err != nil || d != 3*time.Second {
		t.Errorf("ParseStatCPU = %v, %v; want 3s (250+50 ticks)", d, err)
	}
	if d, err := ReadCPU(0); err != nil || d < 0 {
		t.Errorf("ReadCPU(self) = %v, %v", d, err)
	}
}

// TestShortRunDiscordAndTeams runs five employees at once through complete
// resets on Discord and on Teams, against the real binary and the floor: every reset
// completes, every chat action is timed, every interaction / activity is
// acknowledged, and the bot's CPU, memory and Graph calls are read.
func TestShortRunDiscordAndTeams(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs passcodebot")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bins, err := Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	r, err := Run(ctx, Options{
		BotBin: bins.Bot, BaselineBin: bins.Baseline, FloorBin: bins.Floor, WorkDir: dir,
		Levels: []int{n}, MinResets: n, Timeout: time.Minute,
		Platforms: []string{PlatformDiscord, PlatformTeams},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", r)
	if len(r.Levels) != 0 || r.Hold != nil || r.Alerts != nil || r.Unlock != nil || len(r.Starts) != 0 {
		t.Errorf("Slack measurements ran without slack in Platforms: %d levels, hold %v, alerts %v", len(r.Levels), r.Hold != nil, r.Alerts != nil)
	}
	if len(r.Platforms) != 2 || r.Platforms[0].Platform != PlatformDiscord || r.Platforms[1].Platform != PlatformTeams {
		t.Fatalf("platform levels %+v; want discord, then teams", r.Platforms)
	}
	// Discord: one interaction per reset ("Reset passcode"); Teams: two activities ("reset" and the press).
	acts := map[string]int{PlatformDiscord: n, PlatformTeams: 2 * n}
	// The platform calls per reset, by route. The floor's are its list
	// (bench/baseline/floor/platforms.go): five messages, the interaction's
	// callback; on Teams the app token once for the level. The bot's: its
	// six messages (the floor posts nothing at the pick: the bot's "your
	// browser is opening the sign-in" notice), an edit per superseded message
	// (the device list, the notice), the two progress edits of issue 13, the
	// callback (which also takes the clicked message's buttons off: type 7;
	// and its context BOT_DM is Discord's word that the channel is the
	// person's DM, so no DM is opened before the passcode); on Teams the member read
	// (the person's UPN), the superseded and clicked cards updated, and the
	// progress posted as new cards.
	token := 1 / float64(n)
	wantAPI := map[string]map[string]map[string]float64{
		PlatformDiscord: {
			"floor": {"POST /channels/{cid}/messages": 5, "POST /interactions/{iid}/{token}/callback": 1},
			"bot": {"POST /channels/{cid}/messages": 6, "POST /interactions/{iid}/{token}/callback": 1,
				"PATCH /channels/{cid}/messages/{mid}": 4},
		},
		PlatformTeams: {
			"floor": {"POST /v3/conversations/{conv}/activities": 5, "POST /{tenant}/oauth2/v2.0/token": token},
			"bot": {"POST /v3/conversations/{conv}/activities": 8, "POST /{tenant}/oauth2/v2.0/token": token,
				"PUT /v3/conversations/{conv}/activities/{id}": 3, "GET /v3/conversations/{conv}/members/{id}": 1},
		},
	}
	for _, l := range r.Platforms {
		if l.Completed != n || l.Errors != 0 {
			t.Errorf("%s: %d of %d completed, %d errors: %v", l.Platform, l.Completed, l.Resets, l.Errors, l.FirstErrors)
		}
		if l.Reply.N != n*len(platformChatActions) {
			t.Errorf("%s: %d chat round trips timed; want %d", l.Platform, l.Reply.N, n*len(platformChatActions))
		}
		for _, k := range []string{actReset, actPick, actSignIn, actConfirm, actResult} {
			if got := l.ByAction[k]; got.N != n || got.P50 <= 0 {
				t.Errorf("%s: %s timed %d times (p50 %v); want %d", l.Platform, k, got.N, got.P50, n)
			}
		}
		if l.Acks.Sent != acts[l.Platform] || l.Acks.N != l.Acks.Sent || l.Acks.Missing != 0 || l.Acks.Late != 0 {
			t.Errorf("%s acks: %+v; want %d acknowledged in time", l.Platform, l.Acks, acts[l.Platform])
		}
		if l.Graph.Lists != 1 || l.Graph.Resets != 1 || l.Graph.Results < 1 {
			t.Errorf("%s: Graph calls per reset %+v; want one list, one reset, some result reads", l.Platform, l.Graph)
		}
		if !maps.Equal(l.API, wantAPI[l.Platform]["bot"]) {
			t.Errorf("%s: platform calls per reset %v; want %v", l.Platform, l.API, wantAPI[l.Platform]["bot"])
		}
		if f := l.floor(); !maps.Equal(f.API, wantAPI[l.Platform]["floor"]) {
			t.Errorf("%s floor: platform calls per reset %v; want %v", l.Platform, f.API, wantAPI[l.Platform]["floor"])
		}
		if l.Bot.Peak == 0 || l.Heap == 0 || l.CPU <= 0 || l.Start.Ready <= 0 || l.Start.IdleRSS <= 0 {
			t.Errorf("%s: not measured: memory %+v, heap %d, CPU %v, start %+v", l.Platform, l.Bot, l.Heap, l.CPU, l.Start)
		}
		// The floor on the same platform: the same resets, the same timings and acknowledgements.
		f := l.Floor
		if f == nil {
			t.Errorf("%s: no floor", l.Platform)
			continue
		}
		if f.Completed != n || f.Errors != 0 || f.Reply.N != n*len(platformChatActions) || f.Bot.Peak == 0 {
			t.Errorf("%s floor: %d of %d completed, %d errors %v, %d round trips, peak RSS %d", l.Platform, f.Completed, f.Resets, f.Errors, f.FirstErrors, f.Reply.N, f.Bot.Peak)
		}
		if f.Acks.Sent != acts[l.Platform] || f.Acks.N != f.Acks.Sent || f.Acks.Missing != 0 {
			t.Errorf("%s floor acks: %+v; want %d acknowledged", l.Platform, f.Acks, acts[l.Platform])
		}
		if f.Graph.Lists != 1 || f.Graph.Resets != 1 || f.Graph.Results < 1 {
			t.Errorf("%s floor: Graph calls per reset %+v; want one list, one reset, some result reads", l.Platform, f.Graph)
		}
		// Durable writes per reset, as on Slack (TestShortRun).
		for name, d := range map[string]Durable{"floor": f.Durable, "bot": l.Durable} {
			if want := map[string]float64{"floor": 6, "bot": 8}[name]; d.Writes != want || d.Syncs <= 0 || d.Syncs > d.Writes {
				t.Errorf("%s %s: durable writes per reset %+v; want %v writes in at most as many syncs", l.Platform, name, d, want)
			}
		}
		for name, al := range map[string]Allocs{"floor": f.Allocs, "bot": l.Allocs} {
			if al.KiB <= 0 || al.GCs < 0 {
				t.Errorf("%s %s: allocations per reset %+v; not read", l.Platform, name, al)
			}
		}
	}
	for _, tg := range r.Targets() {
		// Completion and acknowledgement in time; the ratios to the floor and the idle RSS are measurements, not checks.
		if (strings.HasPrefix(tg.Name, PlatformDiscord+":") || strings.HasPrefix(tg.Name, PlatformTeams+":")) &&
			!strings.Contains(tg.Name, "x of the floor") && !strings.Contains(tg.Name, "idle RSS") {
			if !tg.Met {
				t.Errorf("target %s: %s", tg.Name, tg.Got)
			}
		}
	}
	if !strings.Contains(r.String(), "interaction callback") {
		t.Error("the report does not say what a Discord ack is")
	}
}

func TestParsePlatforms(t *testing.T) {
	got, err := ParsePlatforms(" teams,discord,teams ")
	if err != nil || len(got) != 2 || got[0] != PlatformTeams || got[1] != PlatformDiscord {
		t.Errorf("ParsePlatforms = %q, %v; want teams, discord", got, err)
	}
	for _, bad := range []string{"", "irc", "slack,msn"} {
		if _, err := ParsePlatforms(bad); err == nil {
			t.Errorf("ParsePlatforms(%q): no error", bad)
		}
	}
}

// TestPlatformIdleRSSTarget: Discord's and Teams' idle RSS is held to the
// same 20 MiB as Slack's, from the median of their levels' starts.
func TestPlatformIdleRSSTarget(t *testing.T) {
	lv := func(p string, idle int64) PlatformLevel {
		return PlatformLevel{Platform: p, Start: Startup{IdleRSS: idle}}
	}
	r := &Report{Platforms: []PlatformLevel{
		lv(PlatformDiscord, 21<<20), lv(PlatformDiscord, 19<<20), lv(PlatformDiscord, 23<<20),
		lv(PlatformTeams, 17<<20), lv(PlatformTeams, 18<<20),
	}}
	got := map[string]Target{}
	for _, tg := range r.platformTargets() {
		if strings.Contains(tg.Name, "idle RSS") {
			got[strings.SplitN(tg.Name, ":", 2)[0]] = tg
		}
	}
	if d := got[PlatformDiscord]; d.Met || !strings.HasPrefix(d.Got, "21.0 MiB") {
		t.Errorf("discord: %+v; want missed at the median, 21.0 MiB", d)
	}
	if tm := got[PlatformTeams]; !tm.Met || !strings.HasPrefix(tm.Got, "17.0 MiB") {
		t.Errorf("teams: %+v; want met at 17.0 MiB (the lower middle of two)", tm)
	}
}
