package console

import (
	"fmt"
	"strconv"

	"github.com/passcodebot/passcodebot/internal/htmlw"
)

// The console's pages, written in Go (internal/htmlw says why there is no
// template). Each function writes what html/template wrote from the template
// it replaced (testdata/*.html): TestPagesSameAsTemplates renders both with
// hostile values in every field and compares the bytes.

func pct(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

// page writes the layout around the page's own part (layout.html).
func (v *view) page() []byte {
	w := &htmlw.Writer{}
	t := func(id string) { w.Text(v.T(id)) }
	w.M("<!doctype html>\n<html lang=\"")
	w.Text(v.Lang)
	w.M("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"referrer\" content=\"no-referrer\">\n")
	if v.Page == "continue" {
		w.M(`<meta http-equiv="refresh" content="0;url=/console/">`)
	}
	w.M("\n<title>")
	w.Text(v.Title)
	w.M(" · ")
	t("console_title")
	w.M("</title>\n<link rel=\"stylesheet\" href=\"/console/assets/console.css\">\n</head>\n<body>\n<header>\n<span class=\"brand\">")
	t("console_title")
	w.M("</span>\n")
	if v.User != nil {
		w.M("\n<nav aria-label=\"")
		t("console_nav")
		w.M("\">\n")
		for _, n := range [...]struct{ nav, href, id, label string }{
			{"overview", "/console/", "nav-overview", "console_overview"},
			{"alerts", "/console/alerts", "nav-alerts", "console_alerts"},
			{"trail", "/console/trail", "nav-trail", "console_trail"},
		} {
			w.M(`<a href="`)
			w.M(htmlw.Markup(n.href))
			w.M(`" `)
			if v.Nav == n.nav {
				w.M(`aria-current="page"`)
			}
			w.M(` id="`)
			w.M(htmlw.Markup(n.id))
			w.M(`">`)
			t(n.label)
			w.M("</a>\n")
		}
		w.M("</nav>\n")
	}
	w.M("\n<span class=\"lang\">\n")
	if v.Lang == "ja" {
		w.M(`<a href="`)
		w.URL(v.Self)
		w.M(`&amp;lang=en" lang="en" hreflang="en" id="lang-en">English</a>`)
	} else {
		w.M(`<a href="`)
		w.URL(v.Self)
		w.M(`&amp;lang=ja" lang="ja" hreflang="ja" id="lang-ja">日本語</a>`)
	}
	w.M("\n</span>\n")
	if v.User != nil {
		w.M("\n<span class=\"who")
		if v.User.Demo {
			w.M(" demo")
		}
		w.M("\" id=\"who\">")
		w.Text(v.User.Who())
		w.M("</span>\n<form method=\"post\" action=\"/console/signout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"")
		w.Text(v.CSRF)
		w.M("\"><button type=\"submit\" id=\"signout\">")
		t("console_signout")
		w.M("</button></form>\n")
	}
	w.M("\n</header>\n")
	if v.User != nil && v.User.Demo {
		w.M(`<p class="demo-banner" id="demo-banner" role="alert">`)
		t("console_demo_banner")
		w.M("</p>")
	}
	w.M("\n<main>\n<h1>")
	w.Text(v.Title)
	w.M("</h1>\n")
	switch v.Page {
	case "overview":
		v.overview(w)
		w.M("\n")
	case "alerts":
		v.alerts(w)
		w.M("\n")
	case "trail":
		v.trail(w)
		w.M("\n")
	case "flow":
		v.flow(w)
		w.M("\n")
	case "signin":
		v.signin(w)
		w.M("\n")
	case "continue":
		w.M("<p><a href=\"/console/\" id=\"continue\">")
		t("console_continue")
		w.M("</a></p>\n")
	default:
		w.M(`<p id="message">`)
		w.Text(v.Message)
		w.M("</p>")
	}
	w.M("\n</main>\n</body>\n</html>\n")
	return w.Bytes()
}

func itoa(n int) string { return strconv.Itoa(n) }

// countTable opens a table of counts by key (the caller closes its tbody):
// a row per key, named by the catalog id keyPrefix+key.
func (v *view) countTable(w *htmlw.Writer, id, keyHead, keyPrefix string, rows []Labeled) {
	w.M("\n<table id=\"")
	w.Text(id)
	w.M("\"><thead><tr><th scope=\"col\">")
	w.Text(v.T(keyHead))
	w.M(`</th><th scope="col">`)
	w.Text(v.T("console_count"))
	w.M("</th></tr></thead>\n<tbody>")
	for _, r := range rows {
		w.M(`<tr data-key="`)
		w.Text(r.Key)
		w.M(`"><th scope="row">`)
		w.Text(v.T(keyPrefix + r.Key))
		w.M("</th><td>")
		w.Text(itoa(r.N))
		w.M("</td></tr>")
	}
}

// overview.html
func (v *view) overview(w *htmlw.Writer) {
	d := v.Data.(overviewData)
	t := func(id string) { w.Text(v.T(id)) }
	w.M("\n\n<form method=\"get\" action=\"/console/\" class=\"period\">\n<fieldset><legend>")
	t("console_period")
	w.M("</legend>\n")
	for _, p := range d.Periods {
		w.M(`<label><input type="radio" name="period" value="`)
		w.Text(p)
		w.M(`" `)
		if p == d.O.Period.Name {
			w.M("checked")
		}
		w.M("> ")
		t("console_period_" + p)
		w.M("</label>")
	}
	w.M("\n<label><input type=\"radio\" name=\"period\" value=\"custom\" ")
	if d.O.Period.Name == "custom" {
		w.M("checked")
	}
	w.M("> ")
	t("console_period_custom")
	w.M("</label>\n<label>")
	t("console_from")
	w.M(` <input type="date" name="from" value="`)
	w.Text(d.From)
	w.M("\"></label>\n<label>")
	t("console_to")
	w.M(` <input type="date" name="to" value="`)
	w.Text(d.To)
	w.M("\"></label>\n<input type=\"hidden\" name=\"lang\" value=\"")
	w.Text(v.Lang)
	w.M("\">\n<button type=\"submit\" id=\"apply\">")
	t("console_apply")
	w.M("</button>\n</fieldset>\n</form>\n<p class=\"range\" id=\"range\">")
	w.Text(d.Range)
	w.M("</p>\n<section class=\"kpis\" aria-label=\"")
	t("console_kpis")
	w.M("\">\n")
	for _, k := range [...]struct{ label, id, value string }{
		{"console_requests", "kpi-requests", itoa(d.O.Requests)},
		{"console_completed", "kpi-completed", itoa(d.O.Completed)},
		{"console_rate", "kpi-rate", pct(d.O.Rate)},
		{"console_unlock_p50", "kpi-p50", d.P50},
		{"console_unlock_p90", "kpi-p90", d.P90},
		{"console_escalations", "kpi-escalations", itoa(d.O.EscTotal)},
	} {
		w.M(`<div class="kpi"><span class="label">`)
		t(k.label)
		w.M(`</span><span class="value" id="`)
		w.M(htmlw.Markup(k.id))
		w.M(`">`)
		w.Text(k.value)
		w.M("</span></div>\n")
	}
	w.M("</section>\n\n<section><h2>")
	t("console_chart_days")
	w.M("</h2>\n")
	w.M(d.DaysChart)
	w.M("\n<table id=\"table-days\"><caption>")
	t("console_chart_days")
	w.M("</caption>\n<thead><tr><th scope=\"col\">")
	t("console_date")
	w.M("</th>")
	for _, l := range d.Legend {
		w.M(`<th scope="col">`)
		w.Text(l.Label)
		w.M("</th>")
	}
	w.M(`<th scope="col">`)
	t("console_unlock_p50")
	w.M("</th></tr></thead>\n<tbody>")
	for _, r := range d.DayRows {
		w.M(`<tr><th scope="row">`)
		w.Text(r.Date)
		w.M("</th>")
		for _, n := range r.Counts {
			w.M("<td>")
			w.Text(itoa(n))
			w.M("</td>")
		}
		w.M("<td>")
		w.Text(r.P50)
		w.M("</td></tr>")
	}
	w.M("</tbody>\n</table>\n</section>\n\n<section><h2>")
	t("console_chart_unlock")
	w.M("</h2>\n")
	w.M(d.UnlockSVG)
	w.M("\n<p>")
	t("console_unlock_note")
	w.M("</p>\n</section>\n\n<div class=\"grid\">\n<section><h2>")
	t("console_chart_outcomes")
	w.M("</h2>\n")
	w.M(d.OutcomeSVG)
	v.countTable(w, "table-outcomes", "console_outcome", "console_outcome_", d.O.Outcomes)
	w.M("</tbody></table>\n</section>\n\n<section><h2>")
	t("console_chart_escalations")
	w.M("</h2>\n")
	w.M(d.EscSVG)
	v.countTable(w, "table-escalations", "console_kind", "alert_title_", d.O.Escalations)
	if len(d.O.Escalations) == 0 {
		w.M(`<tr><td colspan="2">`)
		t("console_none")
		w.M("</td></tr>")
	}
	w.M("</tbody></table>\n</section>\n\n<section><h2>")
	t("console_chart_platforms")
	w.M("</h2>\n")
	w.M(d.PlatSVG)
	w.M("\n<table id=\"table-platforms\"><thead><tr>")
	for _, h := range [...]string{"console_os", "console_picked", "console_refused", "console_completed", "console_failed", "console_escalations"} {
		w.M(`<th scope="col">`)
		t(h)
		w.M("</th>")
	}
	w.M("</tr></thead>\n<tbody>")
	for _, p := range d.O.Platforms {
		w.M(`<tr data-key="`)
		w.Text(p.OS)
		w.M(`"><th scope="row">`)
		w.Text(p.OS)
		w.M("</th>")
		for _, n := range [...]int{p.Picked, p.Refused, p.Completed, p.Failed, p.Escalations} {
			w.M("<td>")
			w.Text(itoa(n))
			w.M("</td>")
		}
		w.M("</tr>")
	}
	w.M("</tbody></table>\n</section>\n\n<section><h2>")
	t("console_chart_chats")
	w.M("</h2>\n")
	w.M(d.ChatSVG)
	w.M("\n<table id=\"table-chats\"><thead><tr>")
	for _, h := range [...]string{"console_chat", "console_requests", "console_completed", "console_escalations"} {
		w.M(`<th scope="col">`)
		t(h)
		w.M("</th>")
	}
	w.M("</tr></thead>\n<tbody>")
	for _, c := range d.O.Chats {
		w.M(`<tr data-key="`)
		w.Text(c.Chat)
		w.M(`"><th scope="row">`)
		w.Text(c.Chat)
		w.M("</th>")
		for _, n := range [...]int{c.Requests, c.Completed, c.Escalations} {
			w.M("<td>")
			w.Text(itoa(n))
			w.M("</td>")
		}
		w.M("</tr>")
	}
	w.M("</tbody></table>\n</section>\n</div>\n")
}

// alerts.html
func (v *view) alerts(w *htmlw.Writer) {
	d := v.Data.(alertsData)
	t := func(id string) { w.Text(v.T(id)) }
	w.M("\n\n<form method=\"get\" action=\"/console/alerts\" class=\"filter\">\n<label>")
	t("console_kind")
	w.M("\n<select name=\"kind\" id=\"kind\"><option value=\"\">")
	t("console_all_kinds")
	w.M("</option>\n")
	for _, k := range d.Kinds {
		w.M(`<option value="`)
		w.Text(k.Key)
		w.M(`" `)
		if k.Key == d.Kind {
			w.M("selected")
		}
		w.M(">")
		w.Text(k.Label)
		w.M("</option>")
	}
	w.M("\n</select></label>\n<label><input type=\"checkbox\" name=\"all\" value=\"1\" ")
	if d.All {
		w.M("checked")
	}
	w.M("> ")
	t("console_show_resolved")
	w.M("</label>\n<button type=\"submit\" id=\"filter\">")
	t("console_apply")
	w.M("</button>\n</form>\n")
	if len(d.Alerts) == 0 {
		w.M(`<p id="no-alerts">`)
		t("console_no_alerts")
		w.M("</p>")
	}
	w.M("\n<ol class=\"alerts\">\n")
	for _, a := range d.Alerts {
		w.M("\n<li class=\"alert\" id=\"alert-")
		w.Text(a.ID)
		w.M(`" data-kind="`)
		w.Text(a.Kind)
		w.M("\">\n<h2>")
		w.Text(a.Title)
		w.M("</h2>\n<dl>\n<dt>")
		t("alert_when")
		w.M("</dt><dd>")
		w.Text(a.When)
		w.M("</dd>\n<dt>")
		t("alert_who")
		w.M("</dt><dd>")
		if a.UserUPN != "" {
			w.M(`<a href="/console/trail?person=`)
			w.Query(a.UserUPN)
			w.M(`">`)
			w.Text(a.UserUPN)
			w.M("</a>")
		} else {
			w.Text(a.ChatUser)
		}
		w.M("</dd>\n<dt>")
		t("alert_device")
		w.M("</dt><dd>")
		if a.DeviceName != "" {
			w.Text(a.DeviceName)
			w.M(" (")
			w.Text(a.DeviceOS)
			w.M(")")
		} else {
			w.M("-")
		}
		w.M("</dd>\n<dt>")
		t("alert_chat")
		w.M("</dt><dd>")
		w.Text(a.Platform)
		w.M("</dd>\n<dt>")
		t("alert_detail")
		w.M("</dt><dd>")
		w.Text(a.Detail)
		w.M("</dd>\n<dt>")
		t("console_taken_by")
		w.M(`</dt><dd class="taken">`)
		if a.TakenBy != "" {
			w.Text(a.TakenBy)
			w.M(" (")
			w.Text(a.TakenVia)
			w.M(", ")
			w.Text(a.TakenAt)
			w.M(")")
		} else {
			t("console_nobody")
		}
		w.M("</dd>\n")
		if a.ResolvedBy != "" {
			w.M("<dt>")
			t("console_resolved_by")
			w.M(`</dt><dd class="resolved">`)
			w.Text(a.ResolvedBy)
			w.M(" (")
			w.Text(a.ResolvedAt)
			w.M("): ")
			w.Text(a.Note)
			w.M("</dd>")
		}
		w.M("\n</dl>\n")
		if a.Open() {
			w.M("\n")
			if a.TakenBy == "" {
				w.M(`<form method="post" action="/console/alerts/`)
				w.Text(htmlw.NormalizeURL(a.ID))
				w.M(`/take" class="inline"><input type="hidden" name="csrf" value="`)
				w.Text(v.CSRF)
				w.M(`"><button type="submit" class="take">`)
				t("alert_take")
				w.M("</button></form>")
			}
			w.M("\n<form method=\"post\" action=\"/console/alerts/")
			w.Text(htmlw.NormalizeURL(a.ID))
			w.M(`/resolve" class="resolve"><input type="hidden" name="csrf" value="`)
			w.Text(v.CSRF)
			w.M("\">\n<label>")
			t("console_note")
			w.M(" <input type=\"text\" name=\"note\" maxlength=\"1000\" class=\"note\"></label>\n<button type=\"submit\" class=\"resolve-button\">")
			t("console_resolve")
			w.M("</button></form>\n")
		}
		w.M("\n</li>\n")
	}
	w.M("\n</ol>\n")
}

// trail.html
func (v *view) trail(w *htmlw.Writer) {
	d := v.Data.(trailData)
	t := func(id string) { w.Text(v.T(id)) }
	w.M("\n\n<form method=\"get\" action=\"/console/trail\" class=\"filter\">\n")
	for _, f := range [...]struct{ label, name, value string }{
		{"console_person", "person", d.Q.Person}, {"console_device", "device", d.Q.Device}, {"console_flow_id", "flow", d.Q.Flow},
	} {
		w.M("<label>")
		t(f.label)
		w.M(` <input type="text" name="`)
		w.M(htmlw.Markup(f.name))
		w.M(`" id="`)
		w.M(htmlw.Markup(f.name))
		w.M(`" value="`)
		w.Text(f.value)
		w.M("\"></label>\n")
	}
	w.M("<button type=\"submit\" id=\"search\">")
	t("console_search")
	w.M("</button>\n</form>\n<p class=\"note\">")
	t("console_trail_note")
	w.M("</p>\n")
	if d.Searched {
		w.M("\n<p>")
		exportAnchors(w, v, d.CSV, d.JSON)
		w.M("</p>\n")
		if d.More {
			w.M("<p>")
			t("console_more")
			w.M("</p>")
		}
		w.M("\n")
		v.events(w, d.Events)
		w.M("\n")
	}
	w.M("\n")
}

func exportAnchors(w *htmlw.Writer, v *view, csv, json string) {
	w.M(`<a href="`)
	w.URL(csv)
	w.M(`" id="export-csv" download>`)
	w.Text(v.T("console_export_csv"))
	w.M("</a> ·\n<a href=\"")
	w.URL(json)
	w.M(`" id="export-json" download>`)
	w.Text(v.T("console_export_json"))
	w.M("</a>")
}

// events.html
func (v *view) events(w *htmlw.Writer, events []eventRow) {
	t := func(id string) { w.Text(v.T(id)) }
	w.M("\n\n<table id=\"events\"><thead><tr>\n")
	for i, h := range [...]string{"alert_when", "console_flow_id", "console_step", "console_outcome", "alert_chat", "console_person", "console_device", "alert_detail"} {
		w.M(`<th scope="col">`)
		t(h)
		w.M("</th>")
		if i == 2 || i == 5 {
			w.M("\n")
		}
	}
	w.M("</tr></thead>\n<tbody>\n")
	for _, e := range events {
		w.M(`<tr data-step="`)
		w.Text(e.Step)
		w.M(`"><td>`)
		w.Text(e.When)
		w.M("</td><td>")
		if e.Flow != "" {
			w.M(`<a href="/console/flow/`)
			w.Text(htmlw.NormalizeURL(e.Flow))
			w.M(`">`)
			w.Text(e.Flow)
			w.M("</a>")
		}
		w.M("</td><td>")
		w.Text(e.StepLabel)
		w.M("</td>\n<td>")
		w.Text(e.Outcome)
		w.M("</td><td>")
		w.Text(e.Platform)
		w.M(" ")
		w.Text(e.ChatUser)
		w.M("</td><td>")
		w.Text(e.UserUPN)
		w.M("</td><td>")
		w.Text(e.DeviceID)
		w.M("</td><td>")
		w.Text(e.Detail)
		w.M("</td></tr>\n")
	}
	if len(events) == 0 {
		w.M(`<tr><td colspan="8" id="no-events">`)
		t("console_no_events")
		w.M("</td></tr>")
	}
	w.M("\n</tbody></table>\n")
}

// flow.html
func (v *view) flow(w *htmlw.Writer) {
	d := v.Data.(flowData)
	t := func(id string) { w.Text(v.T(id)) }
	w.M("\n\n<p>")
	t("console_flow_id")
	w.M(`: <code id="flow-id">`)
	w.Text(d.Flow)
	w.M("</code> ·\n")
	exportAnchors(w, v, d.CSV, d.JSON)
	w.M("</p>\n<ol class=\"timeline\" id=\"timeline\">\n")
	for _, e := range d.Events {
		w.M("\n<li data-step=\"")
		w.Text(e.Step)
		w.M(`"><time>`)
		w.Text(e.When)
		w.M("</time> <strong>")
		w.Text(e.StepLabel)
		w.M("</strong>")
		if e.Outcome != "" {
			w.M(` · <span class="outcome">`)
			w.Text(e.Outcome)
			w.M("</span>")
		}
		w.M("\n<div class=\"meta\">")
		if e.UserUPN != "" {
			w.Text(e.UserUPN)
		}
		if e.DeviceID != "" {
			w.M(" · ")
			t("console_device")
			w.M(" ")
			w.Text(e.DeviceID)
		}
		if e.Platform != "" {
			w.M(" · ")
			w.Text(e.Platform)
			w.M(" ")
			w.Text(e.ChatUser)
		}
		w.M("</div>\n")
		if e.Detail != "" {
			w.M(`<div class="detail">`)
			w.Text(e.Detail)
			w.M("</div>")
		}
		w.M("</li>\n")
	}
	w.M("\n</ol>\n")
}

// signin.html
func (v *view) signin(w *htmlw.Writer) {
	d := v.Data.(signinData)
	t := func(id string) { w.Text(v.T(id)) }
	w.M("\n")
	if d.Expired {
		w.M(`<p id="expired" role="status">`)
		t("console_session_expired")
		w.M("</p>")
	}
	w.M("\n<p>")
	t("console_signin_intro")
	w.M("</p>\n")
	if d.OIDC {
		w.M(`<p><a class="button" href="/console/signin" id="signin">`)
		t("console_signin_button")
		w.M("</a></p>")
	}
	w.M("\n")
	if d.Demo {
		w.M("\n<form method=\"post\" action=\"/console/demo-signin\">\n<input type=\"hidden\" name=\"login\" value=\"")
		w.Text(d.Token)
		w.M("\">\n<p class=\"demo-banner\">")
		t("console_demo_note")
		w.M("</p>\n<button type=\"submit\" id=\"demo-signin\">")
		t("console_demo_button")
		w.M("</button>\n</form>\n")
	}
	w.M("\n")
}
