package console

import (
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/htmlw"
	"github.com/passcodebot/passcodebot/resetflow"
)

// oldTemplates parses the templates the console used to execute
// (testdata/*.html) with html/template. The charts and export links were typed
// template.HTML and template.URL then; two functions give them those types back.
func oldTemplates(t *testing.T) *template.Template {
	t.Helper()
	root := template.New("").Funcs(template.FuncMap{
		"pct":    pct,
		"markup": func(m htmlw.Markup) template.HTML { return template.HTML(m) },
		"url":    func(s string) template.URL { return template.URL(s) },
	})
	files, _ := filepath.Glob("testdata/*.html")
	if len(files) != 7 {
		t.Fatalf("found %d templates", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(src)
		for _, n := range []string{"DaysChart", "UnlockSVG", "OutcomeSVG", "EscSVG", "ChatSVG", "PlatSVG"} {
			s = strings.ReplaceAll(s, "{{$d."+n+"}}", "{{markup $d."+n+"}}")
		}
		s = strings.ReplaceAll(s, `"{{$d.CSV}}"`, `"{{url $d.CSV}}"`)
		s = strings.ReplaceAll(s, `"{{$d.JSON}}"`, `"{{url $d.JSON}}"`)
		template.Must(root.New(filepath.Base(f)).Parse(s))
	}
	return root
}

// bad tries to leave every context the pages put a value in.
const bad = `"><script>alert(1)</script>&'+` + "\x00 javascript:x"

func hostileViews() []view {
	T := func(id string, _ ...any) string { return id + bad }
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := func(flow, upn, dev, plat, outcome, detail string) eventRow {
		return eventRow{Event: resetflow.Event{Flow: flow, Step: "signin" + bad, Platform: plat, ChatUser: "U" + bad, UserUPN: upn, DeviceID: dev, Outcome: outcome, Detail: detail},
			When: "when" + bad, StepLabel: "label" + bad}
	}
	events := []eventRow{ev("f1"+bad, "a@b"+bad, "d"+bad, "slack"+bad, "ok"+bad, "det"+bad), ev("", "", "", "", "", "")}
	o := &Overview{Period: Period{Name: "7d"}, Requests: 12, Completed: 7, Rate: 0.5833, EscTotal: 3,
		Outcomes: []Labeled{{"completed" + bad, 7}, {"failed", 2}}, Escalations: []Labeled{{"reset_failed" + bad, 3}},
		Platforms: []PlatformRow{{OS: "iOS" + bad, Picked: 1, Refused: 2, Completed: 3, Failed: 4, Escalations: 5}},
		Chats:     []ChatRow{{Chat: "slack" + bad, Requests: 6, Completed: 7, Escalations: 8}}}
	ov := overviewData{O: o, Periods: []string{"today", "7d", "30d" + bad}, From: "2026-01-01" + bad, To: "2026-01-07" + bad, Range: "r" + bad,
		P50: "p50" + bad, P90: "p90" + bad, DaysChart: "<svg id=a></svg>", UnlockSVG: "<svg id=b></svg>", OutcomeSVG: "<svg id=c></svg>",
		EscSVG: "<svg id=d></svg>", ChatSVG: "<svg id=e></svg>", PlatSVG: "<svg id=f></svg>",
		DayRows: []dayRow{{Date: "d" + bad, Counts: []int{1, 2}, P50: "x" + bad}, {Date: "e"}}, Legend: []Segment{{Key: "k", Label: "L" + bad}}}
	ovCustom := ov
	ovCustom.O = &Overview{Period: Period{Name: "custom"}}
	ovCustom.DayRows, ovCustom.Legend = nil, nil
	alert := func(id, upn, dev, taken, resolved string) alertRow {
		a := alertRow{Alert: Alert{ID: id, Kind: "wrong_person" + bad, Platform: "slack" + bad, ChatUser: "U" + bad, UserUPN: upn, DeviceName: dev, DeviceOS: "iOS" + bad,
			Detail: "det" + bad, TakenBy: taken, TakenVia: "console" + bad, ResolvedBy: resolved, Note: "note" + bad}, Title: "T" + bad, When: "w" + bad, TakenAt: "ta" + bad}
		if resolved != "" {
			a.Alert.ResolvedAt, a.ResolvedAt = at, "ra"+bad
		}
		return a
	}
	al := alertsData{Kind: "limit" + bad, All: true, Kinds: []Segment{{Key: "limit" + bad, Label: "Limit" + bad}, {Key: "other", Label: "O"}},
		Alerts: []alertRow{alert("1"+bad, "a@b"+bad, "iPhone"+bad, "", ""), alert("2", "", "", "m@x"+bad, ""), alert("3", "u", "d", "m", "r"+bad)}}
	demo := &Identity{Name: "N" + bad, UPN: "demo" + bad, Demo: true}
	member := &Identity{Name: "N" + bad, Subject: "s" + bad}
	csv, json := exportLinks("person=" + urlEscape("a b"+bad))
	base := view{Lang: "en", T: T, Title: "Title" + bad, CSRF: "c" + bad, Self: "/console/trail?person=" + bad, Message: "m" + bad}
	var vs []view
	add := func(page, nav string, user *Identity, data any) {
		for _, lang := range []string{"en", "ja", bad} {
			v := base
			v.Lang, v.Page, v.Nav, v.User, v.Data = lang, page, nav, user, data
			vs = append(vs, v)
		}
	}
	add("overview", "overview", member, ov)
	add("overview", "overview", demo, ovCustom)
	add("alerts", "alerts", member, al)
	add("alerts", "alerts", demo, alertsData{})
	add("trail", "trail", member, trailData{Q: TrailQuery{Person: "p" + bad, Device: "d" + bad, Flow: "f" + bad}, Searched: true, More: true, Events: events, CSV: csv, JSON: json})
	add("trail", "trail", member, trailData{Searched: true, CSV: csv, JSON: json})
	add("trail", "trail", demo, trailData{})
	add("flow", "trail", member, flowData{Flow: "f" + bad, Events: events, CSV: csv, JSON: json})
	add("signin", "", nil, signinData{Expired: true, OIDC: true, Demo: true, Token: "t" + bad})
	add("signin", "", nil, signinData{})
	add("continue", "", nil, nil)
	add("message", "", nil, nil)
	add("message", "", member, nil)
	return vs
}

// TestPagesSameAsTemplates: every console page is, byte for byte, what
// html/template wrote from the templates it replaced, for values that try to
// leave every context (text, attributes, URLs, a query, a path) and for each
// branch of each page; so the escaping is html/template's own.
func TestPagesSameAsTemplates(t *testing.T) {
	old := oldTemplates(t)
	for i, v := range hostileViews() {
		var want strings.Builder
		if err := old.ExecuteTemplate(&want, "layout.html", v); err != nil {
			t.Fatalf("view %d (%s): %v", i, v.Page, err)
		}
		if got := string(v.page()); got != want.String() {
			g, w := got, want.String()
			n := 0
			for n < len(g) && n < len(w) && g[n] == w[n] {
				n++
			}
			from := max(0, n-80)
			t.Errorf("view %d (%s, %s): differs at byte %d:\n got …%s\nwant …%s", i, v.Page, v.Lang, n, g[from:min(len(g), n+120)], w[from:min(len(w), n+120)])
		}
	}
}

// TestExportLinkFiltered: an export link is built by the console, but were one
// ever not a relative or http(s) URL, it would not reach the href (the
// template trusted it as template.URL; the writer filters it all the same).
func TestExportLinkFiltered(t *testing.T) {
	v := view{Lang: "en", T: func(id string, _ ...any) string { return id }, Page: "flow",
		Data: flowData{Flow: "f", CSV: "javascript:alert(1)", JSON: "/console/trail/export?format=json&flow=f"}}
	got := string(v.page())
	if strings.Contains(got, "javascript:") || !strings.Contains(got, `<a href="#ZgotmplZ" id="export-csv"`) ||
		!strings.Contains(got, `<a href="/console/trail/export?format=json&amp;flow=f" id="export-json"`) {
		t.Fatalf("export links: %s", got)
	}
}
