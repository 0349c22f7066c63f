// Command load is passcodebot's load benchmark (issues 8 and 17): the real
// bot, as a separate process, against a fake Slack and a fake Graph on
// loopback, with simulated employees resetting passcodes at 1, 100 and 1,000
// at once; two yardsticks in the same run (the floor, a bot with no logic
// doing the I/O a reset needs at minimum, and a bare slack-go echo bot); start
// to ready and idle RSS; 10,000 conversations held open; a burst of helpdesk
// alerts; the time to unlock; and passcodebot beside the floor on Discord and
// Teams (-platforms). It prints the figures and which of the issues' targets are met.
//
//	go run ./bench/load                          # everything, as in the README
//	go run ./bench/load -levels 1,100 -hold 0 -alerts 0
//	go run ./bench/load -platforms discord,teams  # passcodebot and the floor on Discord and Teams only
//
// It builds passcodebot, bench/baseline and bench/baseline/floor first, as
// releases are built (or takes -bot, -baseline and -floor).
package main

import (
	"context"
	"debug/buildinfo"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/bench/loadtest"
)

func main() {
	d := loadtest.Defaults()
	levels := flag.String("levels", joinInts(d.Levels), "employees resetting at once, comma-separated")
	minResets := flag.Int("min-resets", d.MinResets, "resets per level at least (a level runs max(level, this))")
	hold := flag.Int("hold", d.Hold, "conversations held open at once (0 skips)")
	holdLoad := flag.Int("hold-load", d.HoldLoad, "employees resetting at once while the conversations are held")
	alerts := flag.Int("alerts", d.Alerts, "helpdesk alerts in the burst (0 skips)")
	alertsOver := flag.Duration("alerts-over", d.AlertsOver, "time over which the alerts are raised")
	pollFirst := flag.Duration("poll-first", d.PollFirst, "the bot's reset.poll_first")
	unlock := flag.Int("unlock", d.Unlock, "resets measuring the time to unlock, with the default poll_first (0 skips)")
	bot := flag.String("bot", "", "passcodebot binary (default: go build ./cmd/passcodebot)")
	baseline := flag.String("baseline", "", "echo bot binary (default: go build ./bench/baseline)")
	floor := flag.String("floor", "", "floor binary (default: go build ./bench/baseline/floor)")
	starts := flag.Int("starts", d.Starts, "times passcodebot is started apart to measure start to ready and idle RSS (0 skips)")
	auditDir := flag.String("audit-dir", "", "directory for the bot's audit databases (default: the work directory, on disk; /dev/shm leaves the disk's fsync out)")
	keep := flag.Bool("keep", false, "keep the work directory (configs, logs, audit databases)")
	profile := flag.String("profile", "", "directory for pprof profiles of the bot (heap around the hold, CPU per level)")
	profileSecs := flag.Int("profile-seconds", 10, "length of each CPU profile")
	platforms := flag.String("platforms", strings.Join(loadtest.AllPlatforms, ","), "chats to drive: slack, discord, teams (start, hold, alerts and unlock run on Slack only)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o := d
	var err error
	if o.Levels, err = parseInts(*levels); err != nil {
		fail(err)
	}
	o.Starts = *starts
	if o.Platforms, err = loadtest.ParsePlatforms(*platforms); err != nil {
		fail(err)
	}
	o.MinResets, o.Hold, o.HoldLoad, o.Alerts, o.AlertsOver, o.PollFirst = *minResets, *hold, *holdLoad, *alerts, *alertsOver, *pollFirst
	o.Unlock = *unlock
	o.Progress = os.Stderr
	o.ProfileDir, o.ProfileSeconds = *profile, *profileSecs
	if *profile != "" {
		// Made here: a run of 13 minutes whose profiles all failed to save was a lost run.
		if err := os.MkdirAll(*profile, 0o755); err != nil {
			fail(err)
		}
	}
	dir, err := os.MkdirTemp("", "passcodebot-load-")
	if err != nil {
		fail(err)
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "work directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	o.WorkDir, o.BotBin, o.BaselineBin, o.FloorBin = dir, *bot, *baseline, *floor
	if *auditDir != "" {
		// A directory of this run's own: every run starts with empty audit trails.
		if o.AuditDir, err = os.MkdirTemp(*auditDir, "passcodebot-load-"); err != nil {
			fail(err)
		}
		defer os.RemoveAll(o.AuditDir)
	}
	if o.BotBin == "" || o.BaselineBin == "" || o.FloorBin == "" {
		fmt.Fprintln(os.Stderr, "building passcodebot, the echo bot and the floor…")
		b, err := loadtest.Build(ctx, dir)
		if err != nil {
			fail(err)
		}
		if o.BotBin == "" {
			o.BotBin = b.Bot
		}
		if o.BaselineBin == "" {
			o.BaselineBin = b.Baseline
		}
		if o.FloorBin == "" {
			o.FloorBin = b.Floor
		}
	}
	// The toolchain the bot was built with (the go command's, GOTOOLCHAIN
	// included): results of different toolchains are not comparable.
	built := "unknown"
	if bi, err := buildinfo.ReadFile(o.BotBin); err == nil {
		built = bi.GoVersion
	}
	fmt.Printf("passcodebot load benchmark, %s, %s/%s, %d CPUs, passcodebot built with %s\n\n",
		time.Now().Format(time.RFC3339), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), built)
	r, err := loadtest.Run(ctx, o)
	if r != nil {
		r.Print(os.Stdout)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(1)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-levels: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ",")
}
