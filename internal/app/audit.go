package app

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/config"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// audit is the `audit` subcommand: it lists the audit trail, filtered, as a
// table, CSV or JSON lines.
func audit(ctx context.Context, clk clock.Clock, args []string, stdout, stderr io.Writer, env Env) int {
	fs := flag.NewFlagSet("passcodebot audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (its audit.file is read)")
	file := fs.String("file", "", "audit database file (overrides audit.file)")
	var f sqlite.Filter
	fs.StringVar(&f.User, "user", "", "only this user (UPN or object id)")
	fs.StringVar(&f.Device, "device", "", "only this device id")
	fs.StringVar(&f.Flow, "flow", "", "only this conversation (flow id)")
	fs.StringVar(&f.Outcome, "outcome", "", "only events with this outcome (done, failed, wrong_person, ...)")
	fs.StringVar(&f.Step, "step", "", "only this step (request, eligibility, link_issued, signin, confirm, reset_requested, result, alert_ack, ...)")
	since := fs.String("since", "", "from this time: RFC 3339, a date (2026-11-25) or a duration ago (24h)")
	until := fs.String("until", "", "before this time: RFC 3339, a date or a duration ago")
	fs.IntVar(&f.Limit, "limit", 0, "at most this many events")
	format := fs.String("format", "table", "table, csv or jsonl")
	if code, ok := parse(fs, args, 0); !ok {
		return code
	}
	var err error
	now := clk.Now()
	if f.Since, err = parseWhen(*since, now); err != nil {
		fmt.Fprintln(stderr, "passcodebot audit: -since:", err)
		return ExitConfig
	}
	if f.Until, err = parseWhen(*until, now); err != nil {
		fmt.Fprintln(stderr, "passcodebot audit: -until:", err)
		return ExitConfig
	}
	switch *format {
	case "table", "csv", "jsonl":
	default:
		fmt.Fprintf(stderr, "passcodebot audit: -format: %q is not table, csv or jsonl\n", *format)
		return ExitConfig
	}
	var db store
	if *file != "" {
		db, err = sqlite.Open(ctx, *file)
	} else {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, "passcodebot:", err)
			return ExitConfig
		}
		db, err = openAdminStore(ctx, cfg, env)
	}
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot audit:", err)
		return ExitFail
	}
	defer db.Close()
	events, err := db.Events(ctx, f)
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot audit:", err)
		return ExitFail
	}
	if err := writeEvents(stdout, *format, events); err != nil {
		fmt.Fprintln(stderr, "passcodebot audit:", err)
		return ExitFail
	}
	return ExitOK
}

func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time, a date or a duration", s)
}

var auditColumns = []string{"time", "flow", "step", "outcome", "platform", "chat_user", "user", "user_id", "device", "detail"}

func eventRow(e resetflow.Event) []string {
	return []string{e.Time.UTC().Format(time.RFC3339Nano), e.Flow, e.Step, e.Outcome, e.Platform, e.ChatUser, e.UserUPN, e.UserID, e.DeviceID, e.Detail}
}

func writeEvents(w io.Writer, format string, events []resetflow.Event) error {
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(auditColumns)
		for _, e := range events {
			cw.Write(eventRow(e))
		}
		cw.Flush()
		return cw.Error()
	case "jsonl":
		enc := json.NewEncoder(w)
		for _, e := range events {
			row := eventRow(e)
			m := make(map[string]string, len(row))
			for i, c := range auditColumns {
				m[c] = row[i]
			}
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
		return nil
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(auditColumns, "\t")))
		for _, e := range events {
			row := eventRow(e)
			row[0] = e.Time.Local().Format("2006-01-02 15:04:05")
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		return tw.Flush()
	}
}

// unlink is the `unlink` subcommand: an administrator removes a chat account's
// link to its directory user (people can also write "unlink" to the bot).
func unlink(ctx context.Context, clk clock.Clock, args []string, stdout, stderr io.Writer, env Env) int {
	fs := flag.NewFlagSet("passcodebot unlink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (its audit.file holds the links)")
	platform := fs.String("platform", discord.Platform, "chat platform of the account")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: passcodebot unlink [-config file] [-platform discord] <chat user id>")
		fs.PrintDefaults()
	}
	if code, ok := parse(fs, args, 1); !ok {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot:", err)
		return ExitConfig
	}
	db, err := openAdminStore(ctx, cfg, env)
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot unlink:", err)
		return ExitFail
	}
	defer db.Close()
	had, err := discord.Unlink(ctx, db, *platform, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot unlink:", err)
		return ExitFail
	}
	if !had {
		fmt.Fprintf(stdout, "%s account %s was not linked\n", *platform, fs.Arg(0))
		return ExitOK
	}
	ev := resetflow.Event{Time: clk.Now(), Step: "unlink", Platform: *platform, ChatUser: fs.Arg(0), Outcome: "removed", Detail: "by administrator"}
	if err := db.Record(ctx, ev); err != nil {
		fmt.Fprintln(stderr, "passcodebot unlink: the link is removed, but the audit record failed:", err)
		return ExitFail
	}
	fmt.Fprintf(stdout, "%s account %s is no longer linked\n", *platform, fs.Arg(0))
	return ExitOK
}
