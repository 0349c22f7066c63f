package postgres

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/passcodebot/passcodebot/postgres/pgtest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// noEnv is an environment without PG* variables.
func noEnv(string) string { return "" }

// clearPGEnv keeps the machine's PG* variables out of lib/pq's reading.
func clearPGEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PG") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// pqConfig is how lib/pq itself reads what pqDSN wrote.
func pqConfig(t *testing.T, dsn string) (pq.Config, poolSettings) {
	t.Helper()
	out, pool, err := pqDSN(dsn, noEnv)
	if err != nil {
		t.Fatalf("pqDSN(%q): %v", dsn, err)
	}
	cfg, err := pq.NewConfig(out)
	if err != nil {
		t.Fatalf("lib/pq refuses %q (from %q): %v", out, dsn, err)
	}
	return cfg, pool
}

func TestDSNURLAsPgxReadIt(t *testing.T) {
	clearPGEnv(t)
	// The README's and the Kubernetes Secret's form, with a password that needs escaping.
	cfg, pool := pqConfig(t, "postgres://passcodebot:p%40ss%20w'o\\rd@db.internal:5432/passcodebot?sslmode=verify-full&application_name=bot")
	if cfg.User != "passcodebot" || cfg.Password != `p@ss w'o\rd` || cfg.Host != "db.internal" || cfg.Port != 5432 || cfg.Database != "passcodebot" {
		t.Errorf("user %q password %q host %q port %d dbname %q", cfg.User, cfg.Password, cfg.Host, cfg.Port, cfg.Database)
	}
	if cfg.SSLMode != pq.SSLModeVerifyFull {
		t.Errorf("sslmode %q, want verify-full", cfg.SSLMode)
	}
	if cfg.ApplicationName != "bot" {
		t.Errorf("application_name %q", cfg.ApplicationName)
	}
	if pool.maxConns < 4 || pool.maxLifetime != time.Hour || pool.maxIdleTime != 30*time.Minute {
		t.Errorf("pool %+v, want pgxpool's defaults", pool)
	}
	if len(cfg.Runtime) != 0 {
		t.Errorf("run-time parameters %v sent to the server", cfg.Runtime)
	}

	// Several hosts with their ports in the URL, as pgx read them (lib/pq
	// v1.12.3 alone reads host "a.internal:5432", then "b.internal:5433" on 5432).
	cfg, _ = pqConfig(t, "postgresql://u@a.internal:5432,b.internal:5433/db?target_session_attrs=read-write")
	if cfg.Host != "a.internal" || cfg.Port != 5432 || len(cfg.Multi) != 1 || cfg.Multi[0].Host != "b.internal" || cfg.Multi[0].Port != 5433 {
		t.Errorf("hosts %q:%d then %+v", cfg.Host, cfg.Port, cfg.Multi)
	}
	if cfg.TargetSessionAttrs != pq.TargetSessionAttrsReadWrite {
		t.Errorf("target_session_attrs %q", cfg.TargetSessionAttrs)
	}
	// IPv6 literal, dbname in the query.
	cfg, _ = pqConfig(t, "postgres://u@[::1]:6000/?dbname=other&sslmode=disable")
	if cfg.Host != "::1" || cfg.Port != 6000 || cfg.Database != "other" || cfg.SSLMode != pq.SSLModeDisable {
		t.Errorf("host %q port %d dbname %q sslmode %q", cfg.Host, cfg.Port, cfg.Database, cfg.SSLMode)
	}
	// A socket directory, percent-encoded; a plus in a password is a plus; ssl=true.
	cfg, _ = pqConfig(t, "postgres://u:a+b%2Bc@%2Fvar%2Frun%2Fpostgresql:5433/db?ssl=true")
	if cfg.Host != "/var/run/postgresql" || cfg.Port != 5433 || cfg.Password != "a+b+c" {
		t.Errorf("host %q port %d password %q", cfg.Host, cfg.Port, cfg.Password)
	}
	if cfg, _ = pqConfig(t, "postgres://u@h/db?ssl=true"); cfg.SSLMode != pq.SSLModeRequire {
		t.Errorf("ssl=true: sslmode %q, want require", cfg.SSLMode)
	}
	if cfg, _ = pqConfig(t, "postgres://u@h/db?ssl=true&sslmode=verify-full"); cfg.SSLMode != pq.SSLModeVerifyFull {
		t.Errorf("ssl=true&sslmode=verify-full: sslmode %q", cfg.SSLMode)
	}
	// Empty entries in the lists take the defaults.
	cfg, _ = pqConfig(t, "postgres://u@a:5433,b/db")
	if cfg.Host != "a" || cfg.Port != 5433 || len(cfg.Multi) != 1 || cfg.Multi[0].Host != "b" || cfg.Multi[0].Port != 5432 {
		t.Errorf("hosts %q:%d then %+v", cfg.Host, cfg.Port, cfg.Multi)
	}
	// Run-time parameters go to the server, as pgx sent them.
	cfg, _ = pqConfig(t, "postgres://u@h/db?search_path=bot&statement_timeout=5000")
	if cfg.Runtime["search_path"] != "bot" || cfg.Runtime["statement_timeout"] != "5000" {
		t.Errorf("run-time parameters %v", cfg.Runtime)
	}
}

func TestDSNKeywordsAsPgxReadThem(t *testing.T) {
	clearPGEnv(t)
	cfg, _ := pqConfig(t, `host=db.internal port=6432 user=bot password='it\'s a \\ secret' database=passcodebot connect_timeout=7 sslmode=require`)
	if cfg.Host != "db.internal" || cfg.Port != 6432 || cfg.User != "bot" || cfg.Password != `it's a \ secret` || cfg.Database != "passcodebot" {
		t.Errorf("host %q port %d user %q password %q dbname %q", cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database)
	}
	if cfg.ConnectTimeout != 7*time.Second || cfg.SSLMode != pq.SSLModeRequire {
		t.Errorf("connect_timeout %v sslmode %q", cfg.ConnectTimeout, cfg.SSLMode)
	}
	cfg, _ = pqConfig(t, "host=/run/pg dbname=x")
	if cfg.Host != "/run/pg" || cfg.Database != "x" {
		t.Errorf("host %q dbname %q", cfg.Host, cfg.Database)
	}
	for _, bad := range []string{"host", "host=a password='unterminated", "=x", "host=a b", `host=a\`} {
		_, _, err := pqDSN(bad, noEnv)
		if !errors.Is(err, errDSN) {
			t.Errorf("pqDSN(%q) = %v, want %v", bad, err, errDSN)
		}
	}
}

// TestDSNDefaultsArePgxs: lib/pq's defaults differ from pgx's (sslmode
// require, host localhost); a string that left them out means pgx's.
func TestDSNDefaultsArePgxs(t *testing.T) {
	clearPGEnv(t)
	cfg, _ := pqConfig(t, "postgres://u@h/db")
	if cfg.SSLMode != pq.SSLModePrefer {
		t.Errorf("no sslmode: %q, want prefer", cfg.SSLMode)
	}
	if !cfg.BinaryParameters {
		t.Error("binary_parameters is off: two round trips per statement")
	}
	out, _, _ := pqDSN("postgres://u@h/db", func(k string) string {
		if k == "PGSSLMODE" {
			return "verify-full"
		}
		return ""
	})
	if strings.Contains(out, "sslmode") {
		t.Errorf("PGSSLMODE set, but the string says %q", out)
	}
	cfg, _ = pqConfig(t, "postgres:///db")
	if cfg.Host != defaultHost() || !strings.HasPrefix(cfg.Host, "/") {
		t.Errorf("no host: %q, want pgx's socket directory %q", cfg.Host, defaultHost())
	}
	out, _, _ = pqDSN("dbname=db", func(k string) string {
		if k == "PGHOST" {
			return "db.internal"
		}
		return ""
	})
	if strings.Contains(out, "host=") {
		t.Errorf("PGHOST set, but the string says %q", out)
	}
}

func TestDSNPoolSettings(t *testing.T) {
	clearPGEnv(t)
	cfg, pool := pqConfig(t, "postgres://u:secret@h/db?pool_max_conns=12&pool_max_conn_lifetime=90m&pool_max_conn_idle_time=5m&statement_cache_capacity=0&default_query_exec_mode=exec")
	if pool.maxConns != 12 || pool.maxLifetime != 90*time.Minute || pool.maxIdleTime != 5*time.Minute || !pool.unprepared {
		t.Errorf("pool %+v", pool)
	}
	for dsn, unprepared := range map[string]bool{
		"host=h":                                         false,
		"host=h statement_cache_capacity=512":            false,
		"host=h statement_cache_capacity=0":              true,
		"host=h default_query_exec_mode=cache_statement": false,
		"host=h default_query_exec_mode=simple_protocol": true,
		"host=h default_query_exec_mode=describe_exec":   true,
	} {
		if _, pool := pqConfig(t, dsn); pool.unprepared != unprepared {
			t.Errorf("%s: statements unprepared %v, want %v", dsn, pool.unprepared, unprepared)
		}
	}
	if len(cfg.Runtime) != 0 {
		t.Errorf("pgx's settings sent to the server as run-time parameters: %v", cfg.Runtime)
	}
	if _, pool = pqConfig(t, "pool_max_conns=2 host=h"); pool.maxConns != 4 {
		t.Errorf("pool_max_conns=2: %d connections, want at least 4 as before", pool.maxConns)
	}
	for dsn, want := range map[string]string{
		"postgres://u:secret@h/db?pool_max_conns=0":                  "pool_max_conns",
		"postgres://u:secret@h/db?pool_max_conn_lifetime=soon":       "pool_max_conn_lifetime",
		"postgres://u:secret@h/db?pool_min_conns=2":                  "pool_min_conns",
		"postgres://u:secret@h/db?pool_health_check_period=1m":       "pool_health_check_period",
		"postgres://u:secret@h/db?channel_binding=require":           "channel_binding",
		"postgres://u:secret@h/db?require_auth=scram-sha-256":        "require_auth",
		"postgres://u:secret@h/db?sslpassword=secret&sslkey=/k.pem":  "sslpassword",
		"user=u password=secret servicefile=/etc/pg_service.conf":    "servicefile",
		"postgres://u:secret@h:notaport/db":                          "port",
		"postgres://u:secret@h/db?ssl=false":                         "ssl",
		"postgres://u:sec ret@h/db":                                  "can't be parsed",
		"host=h password='secret":                                    "can't be parsed",
		"postgres://u:secret@h/db?sslmode=verify-full&sslcertmode=a": "sslcertmode",
	} {
		_, err := Connect(context.Background(), dsn) // refused before any connection
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("pqDSN(%q) = %v, want an error naming %s", dsn, err, want)
			continue
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sec ret") {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
}

// TestConnectDSNForms connects with each form to the real server: the pgtest
// server has no TLS, so the string without sslmode connects only because it
// means "prefer" (lib/pq's own default, require, is refused by the server),
// and sslmode=require is refused, so the string's sslmode is the one used.
func TestConnectDSNForms(t *testing.T) {
	base := pgtest.Database(t) // postgres://postgres@127.0.0.1:port/db?sslmode=disable
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	noSSL := strings.TrimSuffix(base, "?sslmode=disable")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for name, dsn := range map[string]string{
		"url":                          base,
		"url without sslmode (prefer)": noSSL,
		"keywords":                     "host=127.0.0.1 port=" + u.Port() + " user=postgres dbname=" + db + " sslmode=disable",
		"two hosts, the first down":    "postgres://postgres@127.0.0.1:1," + u.Host + "/" + db + "?sslmode=disable",
		"pool settings":                base + "&pool_max_conns=7&statement_cache_capacity=0",
	} {
		d, err := Open(ctx, dsn)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := d.Ping(ctx); err != nil {
			t.Errorf("%s: ping: %v", name, err)
		}
		if name == "pool settings" {
			if n := d.db.Stats().MaxOpenConnections; n != 7 {
				t.Errorf("pool_max_conns=7: at most %d connections", n)
			}
			// statement_cache_capacity=0: nothing prepared, behind a pooler in transaction mode.
			if n := prepared(t, d); n != 0 {
				t.Errorf("%d statements prepared with statement_cache_capacity=0", n)
			}
		}
		if name == "url" {
			if n := prepared(t, d); n == 0 {
				t.Error("no statement prepared by default")
			}
		}
		d.Close()
	}
	d, err := Connect(ctx, noSSL+"?sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Ping(ctx); err == nil {
		t.Error("sslmode=require connected to a server without TLS")
	}
}

// TestTimesRoundTrip: times come back in UTC whatever the session's time zone,
// truncated (not rounded) to microseconds, as with pgx.
func TestTimesRoundTrip(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, pgtest.Database(t)+"&timezone=Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tokyo := time.FixedZone("JST", 9*3600)
	at := time.Date(2026, 12, 1, 9, 30, 15, 123456789, tokyo) // 789 ns: rounding would give ...457
	if err := d.Record(ctx, resetflow.Event{Time: at, Flow: "f1", Step: "request", Platform: "slack"}); err != nil {
		t.Fatal(err)
	}
	evs, err := d.Events(ctx, Filter{Flow: "f1"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v %v", evs, err)
	}
	want := time.Date(2026, 12, 1, 0, 30, 15, 123456000, time.UTC)
	if got := evs[0].Time; !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("time %v (%v), want %v", got, got.Location(), want)
	}
	// A bound is truncated too, as pgx sent it: since = the stored time + 789 ns still matches.
	if evs, err := d.Events(ctx, Filter{Flow: "f1", Since: want.Add(789 * time.Nanosecond)}); err != nil || len(evs) != 1 {
		t.Errorf("since the stored time plus 789 ns: %v %v", evs, err)
	}
	sh := ShownSecret{Platform: "slack", Channel: "D1", MessageID: "m1", Locale: "ja", RemoveAt: at}
	if err := d.SecretShown(ctx, sh); err != nil {
		t.Fatal(err)
	}
	shown, err := d.SecretsShown(ctx, "slack")
	if err != nil || len(shown) != 1 || !shown[0].RemoveAt.Equal(want) || shown[0].RemoveAt.Location() != time.UTC {
		t.Errorf("shown %+v %v, want remove_at %v", shown, err, want)
	}
}

// TestContextCancelsAWait: a store call waiting on a lock ends when its
// context does, and the connection is not left waiting.
func TestContextCancelsAWait(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := resetflow.InFlight{Flow: "f1", User: resetflow.User{ID: "u1"}, Started: time.Now()}
	// Another transaction holds the person's lock.
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('passcodebot.reset:' || $1, 0))`, r.User.Key()); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = d.BeginReset(short, r, time.Now().Add(-time.Hour), 3)
	if err == nil {
		t.Fatal("began a reset while another transaction held the lock")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the cancelled call returned after %v", took)
	}
	tx.Rollback()
	if err := d.BeginReset(ctx, r, time.Now().Add(-time.Hour), 3); err != nil {
		t.Fatalf("after the lock was released: %v", err)
	}
	var waiting int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting); err != nil || waiting != 0 {
		t.Errorf("%d advisory lock waits left (%v)", waiting, err)
	}
}

// TestInTxRollsBack: a failing step undoes the transaction's writes.
func TestInTxRollsBack(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	boom := errors.New("boom")
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		if err := d.insertEvents(ctx, tx, []resetflow.Event{{Time: time.Now(), Flow: "f1", Step: "request"}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("inTx: %v, want fn's error", err)
	}
	if evs, err := d.Events(ctx, Filter{}); err != nil || len(evs) != 0 {
		t.Errorf("events after a rollback: %v %v", evs, err)
	}
}

// prepared runs a store read on one connection and counts the statements
// prepared on it.
func prepared(t *testing.T, d *DB) int {
	t.Helper()
	ctx := context.Background()
	d.db.SetMaxOpenConns(1)
	if _, _, err := d.LinkedUser(ctx, "slack", "U1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_prepared_statements`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTLSFromTheDSN: sslmode and sslrootcert in the string are what lib/pq
// uses, against a server with TLS: verify-full with the server's CA connects
// over TLS; with another CA, or to a name the certificate does not have, it
// is refused; no sslmode (prefer) uses TLS when the server offers it.
func TestTLSFromTheDSN(t *testing.T) {
	srv, ca := pgtest.StartTLS(t)
	_, other := pgtest.StartTLS(t) // another CA
	base := srv.NewDatabase(t)
	u, _ := url.Parse(base)
	db := strings.TrimPrefix(u.Path, "/")
	port := u.Port()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	usesTLS := func(dsn string) (bool, error) {
		d, err := Connect(ctx, dsn)
		if err != nil {
			return false, err
		}
		defer d.Close()
		var ssl bool
		err = d.db.QueryRowContext(ctx, `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl)
		return ssl, err
	}
	for name, dsn := range map[string]string{
		"verify-full, URL":      "postgres://postgres@localhost:" + port + "/" + db + "?sslmode=verify-full&sslrootcert=" + url.QueryEscape(ca),
		"verify-full, keywords": "host=localhost port=" + port + " user=postgres dbname=" + db + " sslmode=verify-full sslrootcert='" + ca + "'",
		"verify-ca by IP":       "postgres://postgres@127.0.0.1:" + port + "/" + db + "?sslmode=verify-ca&sslrootcert=" + url.QueryEscape(ca),
		"no sslmode (prefer)":   "postgres://postgres@127.0.0.1:" + port + "/" + db,
		"require":               "postgres://postgres@127.0.0.1:" + port + "/" + db + "?sslmode=require",
	} {
		if ssl, err := usesTLS(dsn); err != nil || !ssl {
			t.Errorf("%s: TLS %v, %v", name, ssl, err)
		}
	}
	if ssl, err := usesTLS("postgres://postgres@127.0.0.1:" + port + "/" + db + "?sslmode=disable"); err != nil || ssl {
		t.Errorf("sslmode=disable: TLS %v, %v", ssl, err)
	}
	for name, dsn := range map[string]string{
		"another CA":           "postgres://postgres@localhost:" + port + "/" + db + "?sslmode=verify-full&sslrootcert=" + url.QueryEscape(other),
		"a name not certified": "host=wrong.example hostaddr=127.0.0.1 port=" + port + " user=postgres dbname=" + db + " sslmode=verify-full sslrootcert='" + ca + "'",
	} {
		if _, err := usesTLS(dsn); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: %v, want a refused certificate", name, err)
		}
	}
}
