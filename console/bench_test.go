package console_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/sqlite"
)

// benchEnd is where the synthetic year ends.
var benchEnd = time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)

// yearModel: a 100,000-employee company over a year, 1.5 requests per employee
// (150,000 requests, about 1.1 million audit events with the deliveries, and
// 26,000 alerts).
var yearModel = seedModel{Employees: 100_000, Days: 365, PerEmployee: 1.5}

// openYear opens the seeded year, seeding it the first time (a minute or two;
// the file is kept in the temp directory for the next run).
func openYear(b *testing.B) (*sqlite.DB, *sqlite.ConsoleStore) {
	b.Helper()
	path := filepath.Join(os.TempDir(), "passcodebot-console-bench-year-v4.db")
	ctx := context.Background()
	_, err := os.Stat(path + ".done")
	fresh := err != nil
	if fresh {
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			os.Remove(p)
		}
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	cs, err := db.Console(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if fresh {
		t0 := time.Now()
		evs, als := seed(b, cs, yearModel, benchEnd, rand.New(rand.NewPCG(1, 2)))
		b.Logf("seeded %d audit events and %d alerts in %v into %s", evs, als, time.Since(t0).Round(time.Second), path)
		os.WriteFile(path+".done", nil, 0o644)
	}
	return db, cs
}

// BenchmarkOverviewYear times the overview page (queries, aggregation, SVG,
// template, the audit record of the view) over a seeded year, served by the
// console's handler as a browser would get it. Target: under 1 s for the year.
func BenchmarkOverviewYear(b *testing.B) {
	db, cs := openYear(b)
	defer db.Close()
	clk := clock.NewFake(benchEnd)
	srv, err := console.New(console.Config{Enabled: true, Listener: "public", IdleTimeout: 8 * time.Hour},
		console.Options{Store: cs, Recorder: db, Catalog: catalog.MustNew("en"), Location: time.UTC, Clock: clk, Demo: true})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	cookie := benchSignIn(b, mux)
	get := func(b *testing.B, path string) string {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%s: %d %.300s", path, rec.Code, rec.Body.String())
		}
		return rec.Body.String()
	}
	year := "/console/?period=custom&from=2025-12-01&to=2026-11-30"
	page := get(b, year)
	req := regexp.MustCompile(`id="kpi-requests">(\d+)<`).FindStringSubmatch(page)
	b.Logf("year overview: %s requests, %d bytes of HTML", req[1], len(page))
	for _, c := range []struct{ name, path string }{
		{"year", year},
		{"30d", "/console/?period=30d"},
		{"7d", "/console/?period=7d"},
		{"today", "/console/?period=today"},
		{"alerts", "/console/alerts"},
		{"trail-person", "/console/trail?person=" + url.QueryEscape("user004711@contoso.example")},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				get(b, c.path)
			}
		})
	}
}

func benchSignIn(b *testing.B, mux *http.ServeMux) *http.Cookie {
	b.Helper()
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/console/", nil))
	m := regexp.MustCompile(`name="login" value="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	var login *http.Cookie
	for _, c := range rec.Result().Cookies() {
		login = c
	}
	req := httptest.NewRequest("POST", "/console/demo-signin", strings.NewReader(url.Values{"login": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(login)
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == console.SessionCookie {
			return c
		}
	}
	b.Fatalf("demo sign-in failed: %d", rec.Code)
	return nil
}
