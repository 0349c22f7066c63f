package console

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"
)

// Outcome categories of a request, in the order the charts stack them.
var outcomeOrder = []string{"completed", "not_shown", "failed", "refused", "limit", "wrong_person", "abandoned", "no_devices", "backend_error", "other"}

// outcomeOf maps a terminal audit event to its category; "" for other events.
// A reset is completed only when its result was shown in chat (delivery
// "sent"); a done reset whose result was not shown (delivery "missing",
// "failed", ...) is "not_shown". A result "done" alone ends nothing: its
// delivery does.
func outcomeOf(step, outcome string) string {
	switch step {
	case "delivery":
		if outcome == "sent" {
			return "completed"
		}
		return "not_shown"
	case "result":
		if outcome == "done" {
			return ""
		}
		return "failed"
	case "reset_requested":
		if outcome == "error" {
			return "failed"
		}
	case "eligibility":
		if outcome != "allow" {
			return "refused"
		}
	case "limit":
		return "limit"
	case "signin":
		switch outcome {
		case "wrong_person", "wrong_tenant":
			return "wrong_person"
		case "expired":
			return "abandoned"
		}
	case "cancel", "expired":
		return "abandoned"
	case "devices_listed":
		switch outcome {
		case "0":
			return "no_devices"
		case "error":
			return "backend_error"
		}
	}
	return ""
}

// Period is the span an overview covers, in the console's time zone.
type Period struct {
	Name  string // today, 7d, 30d, custom
	Since time.Time
	Until time.Time
}

// Overview is what the overview page shows.
type Overview struct {
	Period       Period
	Requests     int
	Completed    int
	Rate         float64 // completed / requests, 0..1
	Outcomes     []Labeled
	UnlockCount  int
	UnlockP50    time.Duration
	UnlockP90    time.Duration
	Escalations  []Labeled // by alert kind
	EscTotal     int
	Platforms    []PlatformRow
	Chats        []ChatRow
	Days         []Day
	ConfirmCount int
}

// Labeled is one count with its key.
type Labeled struct {
	Key string
	N   int
}

// PlatformRow is the overview of one device operating system.
type PlatformRow struct {
	OS          string
	Picked      int // devices picked (eligibility decisions)
	Refused     int // not eligible
	Completed   int
	Failed      int
	Escalations int
}

// ChatRow is the overview of one chat platform.
type ChatRow struct {
	Chat        string
	Requests    int
	Completed   int
	Escalations int
}

// Day is one local day of the period.
type Day struct {
	Date     time.Time
	Outcomes map[string]int
	Total    int
	P50      time.Duration // time to unlock, 0 when none
	Unlocks  int
}

// ComputeOverview reads the store for the period.
func ComputeOverview(ctx context.Context, st Store, p Period, loc *time.Location) (*Overview, error) {
	// The four reads are independent: run them at once (the store has
	// several read connections).
	var (
		counts  []Count
		unlocks []Unlock
		byOS    []OSCount
		kinds   []KindCount
		errs    [4]error
		wg      sync.WaitGroup
	)
	wg.Add(4)
	go func() { defer wg.Done(); counts, errs[0] = st.Counts(ctx, p.Since, p.Until) }()
	go func() { defer wg.Done(); unlocks, errs[1] = st.Unlocks(ctx, p.Since, p.Until) }()
	go func() { defer wg.Done(); byOS, errs[2] = st.ByDeviceOS(ctx, p.Since, p.Until) }()
	go func() { defer wg.Done(); kinds, errs[3] = st.AlertKinds(ctx, p.Since, p.Until) }()
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	o := &Overview{Period: p}

	// Days of the period, local.
	dayIndex := map[time.Time]int{}
	for d := startOfDay(p.Since, loc); d.Before(p.Until); d = d.AddDate(0, 0, 1) {
		dayIndex[d] = len(o.Days)
		o.Days = append(o.Days, Day{Date: d, Outcomes: map[string]int{}})
	}
	day := func(t time.Time) *Day {
		if i, ok := dayIndex[startOfDay(t, loc)]; ok {
			return &o.Days[i]
		}
		return nil
	}

	outcomes := map[string]int{}
	chats := map[string]*ChatRow{}
	chat := func(name string) *ChatRow {
		if chats[name] == nil {
			chats[name] = &ChatRow{Chat: name}
		}
		return chats[name]
	}
	for _, c := range counts {
		switch c.Step {
		case "request":
			o.Requests += c.N
			chat(c.Chat).Requests += c.N
		case "confirm":
			o.ConfirmCount += c.N
		}
		cat := outcomeOf(c.Step, c.Outcome)
		if cat == "" {
			continue
		}
		outcomes[cat] += c.N
		if cat == "completed" {
			o.Completed += c.N
			chat(c.Chat).Completed += c.N
		}
		if d := day(c.Hour); d != nil {
			d.Outcomes[cat] += c.N
			d.Total += c.N
		}
	}
	ended := 0
	for _, n := range outcomes {
		ended += n
	}
	if o.Requests > ended {
		outcomes["other"] = o.Requests - ended
	}
	for _, k := range outcomeOrder {
		if outcomes[k] > 0 {
			o.Outcomes = append(o.Outcomes, Labeled{k, outcomes[k]})
		}
	}
	if o.Requests > 0 {
		o.Rate = float64(o.Completed) / float64(o.Requests)
	}

	// Time to unlock: confirmation to the passcode (the result) shown in chat.
	all := make([]time.Duration, 0, len(unlocks))
	perDay := map[int][]time.Duration{}
	for _, u := range unlocks {
		took := u.Done.Sub(u.Confirmed)
		if took < 0 {
			continue
		}
		all = append(all, took)
		if i, ok := dayIndex[startOfDay(u.Done, loc)]; ok {
			perDay[i] = append(perDay[i], took)
		}
	}
	o.UnlockCount = len(all)
	o.UnlockP50, o.UnlockP90 = percentile(all, 50), percentile(all, 90)
	for i, ds := range perDay {
		o.Days[i].P50, o.Days[i].Unlocks = percentile(ds, 50), len(ds)
	}

	// Platforms: devices by operating system.
	plats := map[string]*PlatformRow{}
	plat := func(os string) *PlatformRow {
		if os == "" {
			os = "?"
		}
		if plats[os] == nil {
			plats[os] = &PlatformRow{OS: os}
		}
		return plats[os]
	}
	for _, c := range byOS {
		r := plat(c.OS)
		switch {
		case c.Step == "eligibility":
			r.Picked += c.N
			if c.Outcome != "allow" {
				r.Refused += c.N
			}
		case c.Step == "delivery" && c.Outcome == "sent":
			r.Completed += c.N
		case c.Step == "result" && c.Outcome != "done":
			r.Failed += c.N
		}
	}
	esc := map[string]int{}
	for _, k := range kinds {
		esc[k.Kind] += k.N
		o.EscTotal += k.N
		if k.OS != "" {
			plat(k.OS).Escalations += k.N
		}
		if k.Chat != "" {
			chat(k.Chat).Escalations += k.N
		}
	}
	for k, n := range esc {
		o.Escalations = append(o.Escalations, Labeled{k, n})
	}
	sort.Slice(o.Escalations, func(i, j int) bool {
		a, b := o.Escalations[i], o.Escalations[j]
		return a.N > b.N || a.N == b.N && a.Key < b.Key
	})
	for _, r := range plats {
		o.Platforms = append(o.Platforms, *r)
	}
	sort.Slice(o.Platforms, func(i, j int) bool {
		a, b := o.Platforms[i], o.Platforms[j]
		return a.Picked > b.Picked || a.Picked == b.Picked && a.OS < b.OS
	})
	for _, r := range chats {
		o.Chats = append(o.Chats, *r)
	}
	sort.Slice(o.Chats, func(i, j int) bool {
		a, b := o.Chats[i], o.Chats[j]
		return a.Requests > b.Requests || a.Requests == b.Requests && a.Chat < b.Chat
	})
	return o, nil
}

// percentile is the nearest-rank percentile; 0 for no values.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// PeriodFor resolves a period name (today, 7d, 30d) or a custom span of
// dates (from and to inclusive, YYYY-MM-DD) at now. ok is false for a bad one.
func PeriodFor(name, from, to string, now time.Time, loc *time.Location) (Period, bool) {
	today := startOfDay(now, loc)
	tomorrow := today.AddDate(0, 0, 1)
	switch name {
	case "", "7d":
		return Period{Name: "7d", Since: today.AddDate(0, 0, -6), Until: tomorrow}, true
	case "today":
		return Period{Name: "today", Since: today, Until: tomorrow}, true
	case "30d":
		return Period{Name: "30d", Since: today.AddDate(0, 0, -29), Until: tomorrow}, true
	case "custom":
		f, err1 := time.ParseInLocation("2006-01-02", from, loc)
		t, err2 := time.ParseInLocation("2006-01-02", to, loc)
		if err1 != nil || err2 != nil || t.Before(f) || t.Sub(f) > 400*24*time.Hour {
			return Period{}, false
		}
		return Period{Name: "custom", Since: f, Until: t.AddDate(0, 0, 1)}, true
	}
	return Period{}, false
}
