package postgres

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The connection string is read as pgx read it before the store moved to
// lib/pq (issue 17: pgx made the binary 3.4 MB bigger), so a string that worked
// keeps working with the same meaning:
//
//   - a URL (postgres:// or postgresql://) or libpq's keyword=value form;
//     several hosts in the URL (postgres://a:5432,b:5433/db) as pgx allowed;
//   - no sslmode (here or in PGSSLMODE) is "prefer", pgx's and libpq's
//     default (lib/pq's own is "require");
//   - no host (here or in PGHOST/PGHOSTADDR/PGSERVICE) is the first of the
//     socket directories /var/run/postgresql, /private/tmp, /tmp that exists,
//     as pgx chose (lib/pq's own is localhost over TCP);
//   - pgxpool's pool_max_conns (at least 4, as before), pool_max_conn_lifetime
//     (default 1h) and pool_max_conn_idle_time (default 30m) size database/sql's pool;
//   - the store prepares its statements once per connection as pgx's default
//     did (stmts.go); statement_cache_capacity=0 or a default_query_exec_mode
//     other than cache_statement (what pgx was told behind a pooler in
//     transaction mode) turn that off: every statement is then an unnamed
//     one, as those modes sent; description_cache_capacity is dropped;
//   - what neither lib/pq nor database/sql can do is refused, naming the setting:
//     the pool settings without an equivalent, and the security settings
//     lib/pq does not enforce (channel_binding, require_auth, sslcertmode,
//     sslpassword), since ignoring those would connect less safely than asked.
//
// Everything else goes to lib/pq as is (run-time parameters such as
// search_path or application_name are sent to the server, as pgx sent them).

// poolSettings size the database/sql pool.
type poolSettings struct {
	maxConns    int
	maxLifetime time.Duration
	maxIdleTime time.Duration
	unprepared  bool // no statement cache (stmts.go)
}

// refused are settings pgx took that lib/pq or database/sql cannot honour.
var refused = map[string]string{
	"pool_min_conns":                "database/sql keeps no minimum of open connections",
	"pool_min_idle_conns":           "database/sql keeps no minimum of idle connections",
	"pool_health_check_period":      "database/sql checks a connection when it reuses it, not periodically",
	"pool_max_conn_lifetime_jitter": "database/sql has no lifetime jitter",
	"pool_ping_timeout":             "database/sql has no ping timeout",
	"channel_binding":               "lib/pq does not enforce SCRAM channel binding",
	"require_auth":                  "lib/pq does not restrict the authentication methods",
	"sslcertmode":                   "lib/pq does not support it",
	"sslpassword":                   "lib/pq can't decrypt an encrypted client key (decrypt the key file)",
	"servicefile":                   "lib/pq reads the service file from PGSERVICEFILE only (set that instead)",
}

// dropped are pgx's statement-cache settings, without meaning for lib/pq.
var dropped = map[string]bool{
	"statement_cache_capacity":   true,
	"description_cache_capacity": true,
	"default_query_exec_mode":    true,
}

// errDSN never quotes the string: it usually carries a password.
var errDSN = errors.New("postgres: the connection string can't be parsed")

// pqDSN turns the connection string into lib/pq's keyword=value form and the
// pool's settings. getenv reads the environment (os.Getenv outside tests).
func pqDSN(dsn string, getenv func(string) string) (string, poolSettings, error) {
	var settings map[string]string
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		settings, err = parseURL(dsn)
	} else {
		settings, err = parseKeywords(dsn)
	}
	if err != nil {
		return "", poolSettings{}, err
	}
	if v, ok := settings["database"]; ok { // pgx's alias; lib/pq's keyword is dbname
		if _, both := settings["dbname"]; !both {
			settings["dbname"] = v
		}
		delete(settings, "database")
	}
	pool := poolSettings{maxConns: max(4, runtime.NumCPU()), maxLifetime: time.Hour, maxIdleTime: 30 * time.Minute}
	if v, ok := settings["pool_max_conns"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", poolSettings{}, fmt.Errorf("postgres: pool_max_conns in the connection string: %q is not a positive integer", v)
		}
		pool.maxConns = max(4, n) // as before: the lease and a migration each hold one
		delete(settings, "pool_max_conns")
	}
	for key, d := range map[string]*time.Duration{"pool_max_conn_lifetime": &pool.maxLifetime, "pool_max_conn_idle_time": &pool.maxIdleTime} {
		if v, ok := settings[key]; ok {
			t, err := time.ParseDuration(v)
			if err != nil || t < 0 {
				return "", poolSettings{}, fmt.Errorf("postgres: %s in the connection string: %q is not a duration", key, v)
			}
			*d = t
			delete(settings, key)
		}
	}
	if v, ok := settings["statement_cache_capacity"]; ok && v == "0" {
		pool.unprepared = true
	}
	if v, ok := settings["default_query_exec_mode"]; ok && v != "cache_statement" {
		pool.unprepared = true
	}
	var bad []string
	for k := range settings {
		if _, no := refused[k]; no {
			bad = append(bad, k)
		}
		if dropped[k] {
			delete(settings, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return "", poolSettings{}, fmt.Errorf("postgres: the connection string's %s is not supported: %s; remove it", bad[0], refused[bad[0]])
	}
	lists(settings)
	if _, ok := settings["sslmode"]; !ok && getenv("PGSSLMODE") == "" {
		settings["sslmode"] = "prefer"
	}
	_, host := settings["host"]
	_, hostaddr := settings["hostaddr"]
	_, service := settings["service"]
	if !host && !hostaddr && !service && getenv("PGHOST") == "" && getenv("PGHOSTADDR") == "" && getenv("PGSERVICE") == "" {
		settings["host"] = defaultHost()
	}
	// One round trip per statement instead of two (parse, then bind): the
	// server infers the parameters' types either way; only []byte is sent
	// differently (as binary), and the store sends none.
	if _, ok := settings["binary_parameters"]; !ok {
		settings["binary_parameters"] = "yes"
	}
	return keywords(settings), pool, nil
}

// defaultHost is pgx's default: a socket directory if one exists.
func defaultHost() string {
	for _, dir := range []string{"/var/run/postgresql", "/private/tmp", "/tmp"} {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
	return "localhost"
}

// parseURL reads a URL as pgx (and libpq) do: user and password before an
// @, one or more host[:port] separated by commas (an IPv6 address in
// brackets; a socket directory percent-encoded, %2Fvar%2Frun%2Fpostgresql),
// the database after the first /, parameters after ?; every part
// percent-decoded ('+' is a plus, not a space), and ssl=true read as
// sslmode=require when no sslmode follows it.
func parseURL(dsn string) (map[string]string, error) {
	p, ok := strings.CutPrefix(dsn, "postgresql://")
	if !ok {
		p, _ = strings.CutPrefix(dsn, "postgres://")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return nil, errDSN
	}
	settings := map[string]string{}
	set := func(key, raw string) error {
		v, err := uriDecode(raw)
		if err != nil {
			return err
		}
		settings[key] = v
		return nil
	}
	if i := strings.IndexAny(p, "@/"); i >= 0 && p[i] == '@' {
		user, password, hasPassword := strings.Cut(p[:i], ":")
		p = p[i+1:]
		if user != "" {
			if err := set("user", user); err != nil {
				return nil, err
			}
		}
		if hasPassword && password != "" {
			if err := set("password", password); err != nil {
				return nil, err
			}
		}
	}
	var hosts, ports strings.Builder
	for {
		if strings.HasPrefix(p, "[") {
			end := strings.IndexByte(p, ']')
			if end <= 1 {
				return nil, errDSN
			}
			hosts.WriteString(p[1:end])
			p = p[end+1:]
			if p != "" && !strings.ContainsAny(p[:1], ":/?,") {
				return nil, errDSN
			}
		} else {
			i := strings.IndexAny(p, ":/?,")
			if i < 0 {
				i = len(p)
			}
			hosts.WriteString(p[:i])
			p = p[i:]
		}
		if strings.HasPrefix(p, ":") {
			p = p[1:]
			i := strings.IndexAny(p, "/?,")
			if i < 0 {
				i = len(p)
			}
			ports.WriteString(p[:i])
			p = p[i:]
		}
		if !strings.HasPrefix(p, ",") {
			break
		}
		p = p[1:]
		hosts.WriteByte(',')
		ports.WriteByte(',')
	}
	if hosts.Len() > 0 {
		if err := set("host", hosts.String()); err != nil {
			return nil, err
		}
	}
	if strings.Trim(ports.String(), ",") != "" {
		if err := set("port", ports.String()); err != nil {
			return nil, err
		}
	}
	if strings.HasPrefix(p, "/") {
		db, rest, _ := strings.Cut(p[1:], "?")
		p = ""
		if rest != "" || strings.Contains(dsn, "?") {
			p = "?" + rest
		}
		if db != "" {
			if err := set("database", db); err != nil {
				return nil, err
			}
		}
	}
	if strings.HasPrefix(p, "?") {
		sslTrue, sslLast := false, false
		for _, pair := range strings.Split(p[1:], "&") {
			if pair == "" {
				continue
			}
			rawKey, rawValue, found := strings.Cut(pair, "=")
			if !found || strings.Contains(rawValue, "=") {
				return nil, errDSN
			}
			key, err := uriDecode(rawKey)
			if err != nil {
				return nil, err
			}
			if key == "dbname" {
				key = "database"
			}
			if err := set(key, rawValue); err != nil {
				return nil, err
			}
			switch key {
			case "ssl":
				if settings[key] != "true" {
					return nil, errors.New(`postgres: the connection string's ssl may only be "true" (or use sslmode)`)
				}
				sslTrue, sslLast = true, true
			case "sslmode":
				sslLast = false
			}
		}
		if sslTrue {
			delete(settings, "ssl")
			if sslLast {
				settings["sslmode"] = "require"
			}
		}
	}
	return settings, nil
}

// uriDecode percent-decodes a part of a URL as libpq does: spaces around it
// are dropped, spaces inside refused, %00 refused.
func uriDecode(raw string) (string, error) {
	raw = strings.Trim(raw, " ")
	if strings.Contains(raw, " ") {
		return "", errDSN
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] != '%' {
			b.WriteByte(raw[i])
			continue
		}
		if i+2 >= len(raw) {
			return "", errDSN
		}
		n, err := strconv.ParseUint(raw[i+1:i+3], 16, 8)
		if err != nil || n == 0 {
			return "", errDSN
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

// lists fills the empty entries of host and port lists with pgx's defaults
// (lib/pq refuses an empty first port and takes localhost for an empty host).
func lists(settings map[string]string) {
	if v, ok := settings["host"]; ok && strings.Contains(","+v+",", ",,") {
		hs := strings.Split(v, ",")
		for i, h := range hs {
			if h == "" {
				hs[i] = defaultHost()
			}
		}
		settings["host"] = strings.Join(hs, ",")
	}
	if v, ok := settings["port"]; ok && strings.Contains(","+v+",", ",,") {
		ps := strings.Split(v, ",")
		for i, p := range ps {
			if p == "" {
				ps[i] = "5432"
			}
		}
		settings["port"] = strings.Join(ps, ",")
	}
}

// parseKeywords reads libpq's keyword=value form: values in single quotes
// may hold spaces, a backslash escapes the next character.
func parseKeywords(s string) (map[string]string, error) {
	settings := map[string]string{}
	rs := []rune(s)
	i := 0
	space := func() {
		for i < len(rs) && isSpace(rs[i]) {
			i++
		}
	}
	for {
		space()
		if i >= len(rs) {
			return settings, nil
		}
		start := i
		for i < len(rs) && rs[i] != '=' && !isSpace(rs[i]) {
			i++
		}
		key := string(rs[start:i])
		space()
		if i >= len(rs) || rs[i] != '=' || key == "" {
			return nil, errDSN
		}
		i++
		space()
		var val []rune
		if i < len(rs) && rs[i] == '\'' {
			i++
			for {
				if i >= len(rs) {
					return nil, errDSN
				}
				r := rs[i]
				i++
				if r == '\'' {
					break
				}
				if r == '\\' {
					if i >= len(rs) {
						return nil, errDSN
					}
					r = rs[i]
					i++
				}
				val = append(val, r)
			}
		} else {
			for i < len(rs) && !isSpace(rs[i]) {
				r := rs[i]
				i++
				if r == '\\' {
					if i >= len(rs) {
						return nil, errDSN
					}
					r = rs[i]
					i++
				}
				val = append(val, r)
			}
		}
		if key == "dbname" {
			key = "database"
		}
		settings[key] = string(val)
	}
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}

// keywords writes settings in the keyword=value form, every value quoted.
func keywords(settings map[string]string) string {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteString("='")
		for _, r := range settings[k] {
			if r == '\'' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('\'')
	}
	return b.String()
}
