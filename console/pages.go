package console

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/internal/htmlw"
	"github.com/passcodebot/passcodebot/resetflow"
)

type overviewData struct {
	O          *Overview
	Periods    []string
	From, To   string
	Range      string
	P50, P90   string
	DaysChart  htmlw.Markup
	UnlockSVG  htmlw.Markup
	OutcomeSVG htmlw.Markup
	EscSVG     htmlw.Markup
	ChatSVG    htmlw.Markup
	PlatSVG    htmlw.Markup
	DayRows    []dayRow
	Legend     []Segment
}

type dayRow struct {
	Date   string
	Counts []int
	Total  int
	P50    string
}

func (s *Server) seconds(loc string, d time.Duration) string {
	if d == 0 {
		return s.o.Catalog.T(loc, "console_none")
	}
	return s.o.Catalog.T(loc, "console_seconds", map[string]any{"N": fmt.Sprintf("%.1f", d.Seconds())})
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, ss *session) {
	loc := s.locale(r, ss)
	T := s.tr(loc)
	q := r.URL.Query()
	p, ok := PeriodFor(q.Get("period"), q.Get("from"), q.Get("to"), s.o.Clock.Now(), s.o.Location)
	if !ok {
		s.fail(w, r, ss, http.StatusBadRequest, "console_bad_period")
		return
	}
	o, err := ComputeOverview(r.Context(), s.o.Store, p, s.o.Location)
	if err != nil {
		s.o.Log.Error("console: overview query failed", "err", err)
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_store_down")
		return
	}
	if s.audit(r.Context(), ss.who.Who(), "view_overview", "period="+p.Name) != nil {
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_audit_down")
		return
	}
	d := overviewData{O: o, Periods: []string{"today", "7d", "30d"},
		From: p.Since.In(s.o.Location).Format("2006-01-02"), To: p.Until.Add(-time.Nanosecond).In(s.o.Location).Format("2006-01-02"),
		P50: s.seconds(loc, o.UnlockP50), P90: s.seconds(loc, o.UnlockP90)}
	d.Range = d.From + " – " + d.To

	// Resets per day, stacked by outcome.
	present := map[string]bool{}
	for _, day := range o.Days {
		for k, n := range day.Outcomes {
			if n > 0 {
				present[k] = true
			}
		}
	}
	for _, k := range outcomeOrder {
		if present[k] {
			d.Legend = append(d.Legend, Segment{Key: k, Label: T("console_outcome_" + k)})
		}
	}
	var labels []string
	var bars [][]Segment
	var secs []float64
	for _, day := range o.Days {
		label := day.Date.Format("01-02")
		labels = append(labels, label)
		var b []Segment
		row := dayRow{Date: day.Date.Format("2006-01-02"), Total: day.Total, P50: s.seconds(loc, day.P50)}
		for _, lg := range d.Legend {
			b = append(b, Segment{Key: lg.Key, Label: lg.Label, N: day.Outcomes[lg.Key]})
			row.Counts = append(row.Counts, day.Outcomes[lg.Key])
		}
		bars = append(bars, b)
		secs = append(secs, day.P50.Seconds())
		d.DayRows = append(d.DayRows, row)
	}
	d.DaysChart = stackedBars("chart-days", T("console_chart_days"), T("console_chart_days_desc"), labels, bars, d.Legend)
	d.UnlockSVG = columns("chart-unlock", T("console_chart_unlock"), T("console_chart_unlock_desc"), labels, secs, T("console_unit_s"))
	var outs, escs, chats, plats []Segment
	for _, l := range o.Outcomes {
		outs = append(outs, Segment{Key: l.Key, Label: T("console_outcome_" + l.Key), N: l.N})
	}
	for _, l := range o.Escalations {
		escs = append(escs, Segment{Key: l.Key, Label: T("alert_title_" + l.Key), N: l.N})
	}
	for _, c := range o.Chats {
		chats = append(chats, Segment{Key: c.Chat, Label: c.Chat, N: c.Requests})
	}
	for _, p := range o.Platforms {
		plats = append(plats, Segment{Key: p.OS, Label: p.OS, N: p.Picked})
	}
	d.OutcomeSVG = hbars("chart-outcomes", T("console_chart_outcomes"), T("console_chart_outcomes_desc"), outs, "")
	d.EscSVG = hbars("chart-escalations", T("console_chart_escalations"), T("console_chart_escalations_desc"), escs, "#ef6c00")
	d.ChatSVG = hbars("chart-chats", T("console_chart_chats"), T("console_chart_chats_desc"), chats, "#1565c0")
	d.PlatSVG = hbars("chart-platforms", T("console_chart_platforms"), T("console_chart_platforms_desc"), plats, "#00838f")
	s.render(w, r, ss, view{Lang: loc, Page: "overview", Nav: "overview", Title: T("console_overview"), Data: d})
}

type alertsData struct {
	Alerts []alertRow
	Kinds  []Segment
	Kind   string
	All    bool
}

type alertRow struct {
	Alert
	Title, When, TakenAt, ResolvedAt string
}

func (s *Server) alerts(w http.ResponseWriter, r *http.Request, ss *session) {
	loc := s.locale(r, ss)
	q := r.URL.Query()
	f := AlertFilter{OpenOnly: q.Get("all") != "1", Kind: q.Get("kind"), Limit: 500}
	list, err := s.o.Store.Alerts(r.Context(), f)
	if err != nil {
		s.o.Log.Error("console: alerts query failed", "err", err)
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_store_down")
		return
	}
	if s.audit(r.Context(), ss.who.Who(), "view_alerts", "kind="+f.Kind) != nil {
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_audit_down")
		return
	}
	d := alertsData{Kind: f.Kind, All: !f.OpenOnly}
	for _, k := range []resetflow.AlertKind{resetflow.AlertContactSupport, resetflow.AlertFactoryReset, resetflow.AlertNotSupported,
		resetflow.AlertLimitReached, resetflow.AlertWrongPerson, resetflow.AlertResetFailed, resetflow.AlertResetTimedOut,
		resetflow.AlertBackendError, resetflow.AlertAuditDown, resetflow.AlertResetUnknown} {
		d.Kinds = append(d.Kinds, Segment{Key: string(k), Label: s.o.Catalog.T(loc, "alert_title_"+string(k))})
	}
	for _, a := range list {
		row := alertRow{Alert: a, Title: s.o.Catalog.T(loc, "alert_title_"+a.Kind), When: s.when(a.Time)}
		if !a.TakenAt.IsZero() {
			row.TakenAt = s.when(a.TakenAt)
		}
		if !a.ResolvedAt.IsZero() {
			row.ResolvedAt = s.when(a.ResolvedAt)
		}
		d.Alerts = append(d.Alerts, row)
	}
	s.render(w, r, ss, view{Lang: loc, Page: "alerts", Nav: "alerts", Title: s.o.Catalog.T(loc, "console_alerts"), Data: d})
}

func (s *Server) when(t time.Time) string {
	return t.In(s.o.Location).Format("2006-01-02 15:04:05 MST")
}

func (s *Server) backToAlerts(w http.ResponseWriter, r *http.Request) {
	s.headers(w)
	http.Redirect(w, r, Path+"/alerts", http.StatusSeeOther)
}

func (s *Server) take(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	who := ss.who.Who()
	if s.audit(r.Context(), who, "take", "alert="+id) != nil {
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_audit_down")
		return
	}
	_, took, found, err := s.o.Store.TakeAlert(r.Context(), id, who, "console", s.o.Clock.Now())
	switch {
	case err != nil:
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_store_down")
		return
	case !found:
		s.fail(w, r, ss, http.StatusNotFound, "console_no_alert")
		return
	}
	if took {
		// The same acknowledgement the chat button records.
		ev := resetflow.Event{Time: s.o.Clock.Now(), Step: "alert_ack", Platform: "console", ChatUser: who, Outcome: "taken", Detail: "alert=" + id}
		s.o.Recorder.Record(r.Context(), ev)
		if s.o.OnTaken != nil {
			s.o.OnTaken(r.Context(), id, who)
		}
	}
	s.backToAlerts(w, r)
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	note := strings.TrimSpace(r.PostFormValue("note"))
	if len([]rune(note)) > 1000 {
		s.fail(w, r, ss, http.StatusBadRequest, "console_note_too_long")
		return
	}
	who := ss.who.Who()
	if s.audit(r.Context(), who, "resolve", "alert="+id+" note="+note) != nil {
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_audit_down")
		return
	}
	ok, err := s.o.Store.ResolveAlert(r.Context(), id, who, note, s.o.Clock.Now())
	switch {
	case err != nil:
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_store_down")
		return
	case !ok:
		s.fail(w, r, ss, http.StatusConflict, "console_no_alert")
		return
	}
	s.backToAlerts(w, r)
}

type trailData struct {
	Q         TrailQuery
	Events    []eventRow
	Searched  bool
	CSV, JSON string // the export links
	More      bool
}

type eventRow struct {
	resetflow.Event
	When, StepLabel string
}

func (s *Server) query(r *http.Request) (TrailQuery, bool) {
	q := r.URL.Query()
	tq := TrailQuery{Person: strings.TrimSpace(q.Get("person")), Device: strings.TrimSpace(q.Get("device")), Flow: strings.TrimSpace(q.Get("flow")), Limit: s.o.TrailLimit}
	for _, v := range []string{tq.Person, tq.Device, tq.Flow} {
		if len(v) > 256 {
			return tq, false
		}
	}
	return tq, true
}

func (s *Server) rows(loc string, evs []resetflow.Event) []eventRow {
	out := make([]eventRow, 0, len(evs))
	for _, e := range evs {
		out = append(out, eventRow{Event: e, When: s.when(e.Time), StepLabel: s.stepLabel(loc, e.Step)})
	}
	return out
}

func (s *Server) stepLabel(loc, step string) string {
	switch step {
	case "request", "devices_listed", "eligibility", "link_issued", "signin", "confirm", "reset_requested", "result",
		"cancel", "expired", "limit", "link", "unlink", "alert_ack", "console", "delivery", "pair", "pair_issued":
		return s.o.Catalog.T(loc, "console_step_"+step)
	}
	return step
}

func (s *Server) trail(w http.ResponseWriter, r *http.Request, ss *session) {
	loc := s.locale(r, ss)
	tq, ok := s.query(r)
	if !ok {
		s.fail(w, r, ss, http.StatusBadRequest, "console_bad_query")
		return
	}
	d := trailData{Q: tq}
	if tq.Person != "" || tq.Device != "" || tq.Flow != "" {
		if s.audit(r.Context(), ss.who.Who(), "search", searchDetail(tq)) != nil {
			s.fail(w, r, ss, http.StatusServiceUnavailable, "console_audit_down")
			return
		}
		evs, err := s.o.Store.Trail(r.Context(), tq)
		if err != nil {
			s.o.Log.Error("console: trail query failed", "err", err)
			s.fail(w, r, ss, http.StatusServiceUnavailable, "console_store_down")
			return
		}
		d.Searched, d.Events, d.More = true, s.rows(loc, evs), len(evs) >= tq.Limit
		d.CSV, d.JSON = exportLinks(exportQuery(tq))
	}
	s.render(w, r, ss, view{Lang: loc, Page: "trail", Nav: "trail", Title: s.o.Catalog.T(loc, "console_trail"), Data: d})
}

func searchDetail(q TrailQuery) string {
	var parts []string
	for _, kv := range [][2]string{{"person", q.Person}, {"device", q.Device}, {"flow", q.Flow}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, " ")
}

func exportQuery(q TrailQuery) string {
	v := make([]string, 0, 3)
	for _, kv := range [][2]string{{"person", q.Person}, {"device", q.Device}, {"flow", q.Flow}} {
		if kv[1] != "" {
			v = append(v, kv[0]+"="+urlEscape(kv[1]))
		}
	}
	return strings.Join(v, "&")
}

// exportLinks are the CSV and JSON export URLs of a query string built by us.
func exportLinks(q string) (csv, json string) {
	return Path + "/trail/export?format=csv&" + q, Path + "/trail/export?format=json&" + q
}

type flowData struct {
	Flow      string
	Events    []eventRow
	CSV, JSON string
}

func (s *Server) flow(w http.ResponseWriter, r *http.Request, ss *session) {
	loc := s.locale(r, ss)
	flow := r.PathValue("flow")
	if len(flow) > 128 {
		s.fail(w, r, ss, http.StatusBadRequest, "console_bad_query")
		return
	}
	if s.audit(r.Context(), ss.who.Who(), "view_flow", "flow="+flow) != nil {
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_audit_down")
		return
	}
	evs, err := s.o.Store.Trail(r.Context(), TrailQuery{Flow: flow, Limit: s.o.TrailLimit})
	if err != nil {
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_store_down")
		return
	}
	if len(evs) == 0 {
		s.fail(w, r, ss, http.StatusNotFound, "console_no_flow")
		return
	}
	d := flowData{Flow: flow, Events: s.rows(loc, evs)}
	d.CSV, d.JSON = exportLinks("flow=" + urlEscape(flow))
	s.render(w, r, ss, view{Lang: loc, Page: "flow", Nav: "trail", Title: s.o.Catalog.T(loc, "console_flow"), Data: d})
}

// exportColumns are the audit trail's columns, as the audit subcommand writes them.
var exportColumns = []string{"time", "flow", "step", "outcome", "platform", "chat_user", "user", "user_id", "device", "detail"}

func (s *Server) export(w http.ResponseWriter, r *http.Request, ss *session) {
	tq, ok := s.query(r)
	format := r.URL.Query().Get("format")
	if !ok || (tq.Person == "" && tq.Device == "" && tq.Flow == "") || (format != "csv" && format != "json") {
		s.fail(w, r, ss, http.StatusBadRequest, "console_bad_query")
		return
	}
	if s.audit(r.Context(), ss.who.Who(), "export_"+format, searchDetail(tq)) != nil {
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_audit_down")
		return
	}
	evs, err := s.o.Store.Trail(r.Context(), tq)
	if err != nil {
		s.fail(w, r, ss, http.StatusServiceUnavailable, "console_store_down")
		return
	}
	s.headers(w)
	name := "passcodebot-trail-" + s.o.Clock.Now().UTC().Format("20060102T150405Z") + "." + format
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	row := func(e resetflow.Event) []string {
		return []string{e.Time.UTC().Format(time.RFC3339Nano), e.Flow, e.Step, e.Outcome, e.Platform, e.ChatUser, e.UserUPN, e.UserID, e.DeviceID, e.Detail}
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw := csv.NewWriter(w)
		cw.Write(exportColumns)
		for _, e := range evs {
			cw.Write(csvSafe(row(e)))
		}
		cw.Flush()
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	out := make([]map[string]string, 0, len(evs))
	for _, e := range evs {
		m := map[string]string{}
		for i, v := range row(e) {
			m[exportColumns[i]] = v
		}
		out = append(out, m)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

// csvSafe keeps a spreadsheet from running a cell as a formula.
func csvSafe(row []string) []string {
	for i, v := range row {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			row[i] = "'" + v
		}
	}
	return row
}

func urlEscape(s string) string { return url.QueryEscape(s) }
