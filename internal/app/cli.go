package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/config"
)

// usage is the top-level help, printed by `passcodebot -help` (exit 0) and once
// before an unknown subcommand's error (exit 2).
const usage = `passcodebot resets a forgotten phone passcode through Intune, from a chat.

Usage:
  passcodebot [run] [-config file] [-listen addr]   run the bot (default: the embedded demo in this terminal)
  passcodebot check [-config file] <upn>            show what the bot sees for one user (Graph setup, devices, rules)
  passcodebot audit [-config file] [filters]        list the audit trail (-help for the filters)
  passcodebot unlink [-config file] <discord id>    remove a Discord account link
  passcodebot migrate [-check] [-config f]          apply (or with -check list) the schema migrations
  passcodebot version                               print the version
  passcodebot help                                  print this help

Without -config the embedded default (config.example.yaml) is used.
`

// subcommands are the names Main knows; anything else that doesn't start with
// "-" is refused rather than taken for the bot's flags.
var subcommands = []string{"run", "check", "audit", "unlink", "migrate", "version", "help"}

// cli answers help, version and unknown subcommands. It reports whether it handled args.
func cli(args []string, stdout, stderr io.Writer) (int, bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch a := args[0]; {
	case a == "help" || a == "-h" || a == "-help" || a == "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK, true
	case a == "version" || a == "-version" || a == "--version":
		fmt.Fprintln(stdout, "passcodebot", version())
		return ExitOK, true
	case !strings.HasPrefix(a, "-") && !slices.Contains(subcommands, a):
		fmt.Fprintf(stderr, "passcodebot: unknown subcommand %q (known: %s)\n\n%s", a, strings.Join(subcommands, ", "), usage)
		return ExitConfig, true
	}
	return 0, false
}

// version is the module version and VCS revision from the build info.
func version() string {
	if Version != "dev" {
		return Version // stamped at build time
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified, at string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		case "vcs.time":
			at = s.Value
		}
	}
	out := v
	if rev != "" {
		out += " " + rev[:min(12, len(rev))] + modified
	}
	if at != "" {
		out += " " + at
	}
	return out + " " + bi.GoVersion
}

// checkFleet is `check` on the demo fleet (devices: fleet): the user's devices and
// what the rules decide for each, without Graph.
func checkFleet(ctx context.Context, cfg *config.Config, upn string, stdout io.Writer) error {
	var fl *fleet.Fleet
	var err error
	if cfg.Fleet.File != "" {
		fl, err = fleet.LoadFile(cfg.Fleet.File, clock.Real{}, cfg.Fleet.Delay)
	} else {
		fl, err = fleet.Load(fleet.Demo(), clock.Real{}, cfg.Fleet.Delay)
	}
	if err != nil {
		return err
	}
	u, err := fl.LookupUser(ctx, upn)
	if err != nil {
		return fmt.Errorf("%s: %w", upn, err)
	}
	devices, err := fl.ListDevices(ctx, u)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "devices: fleet (%s)\nuser: %s (%s)\n", fleetName(cfg), u.UPN, u.ID)
	if len(devices) == 0 {
		fmt.Fprintln(stdout, "no devices")
		return nil
	}
	rules := cfg.Rules
	for _, d := range devices {
		v := rules.Evaluate(d)
		decision := string(v.Decision)
		if v.Outcome != "" {
			decision += " (" + string(v.Outcome) + ")"
		}
		fmt.Fprintf(stdout, "- %s: %s %s, %s %s, mode %s, owner %s -> %s by rule %s\n",
			d.Name, d.Maker, d.Model, d.OS, d.OSVersion, d.Mode, d.Owner, decision, v.Rule)
	}
	return nil
}

func fleetName(cfg *config.Config) string {
	if cfg.Fleet.File != "" {
		return cfg.Fleet.File
	}
	return "embedded demo"
}

// parse parses a subcommand's flags. It prints the usage at most once: the flag
// package prints it for a bad flag or -help; parse prints it for a wrong number
// of arguments (want < 0: any). -help is exit 0, a mistake exit 2.
func parse(fs *flag.FlagSet, args []string, want int) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK, false
		}
		return ExitConfig, false
	}
	if want >= 0 && fs.NArg() != want {
		fs.Usage()
		return ExitConfig, false
	}
	return 0, true
}

// terminalOut is stdout when it is an interactive terminal running the shell
// chat: the chat shows a "you>" prompt and the logs go to a file, so log lines
// never interleave with the conversation.
type terminalOut struct {
	io.Writer
	note string // said under the welcome: where the logs are
}

// isTerminal reports whether f is an *os.File on a character device other than
// the null device (a terminal). Tests replace it.
var isTerminal = func(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}

// shellTerminal decides, when both stdin and stdout are a terminal, where the logs of a terminal chat go: to passcodebot.log
// beside the audit file, said at start. It returns the writer for the logs, the
// stdout for the chat, and a close function.
func shellTerminal(cfg *config.Config, stdin io.Reader, stdout, stderr io.Writer) (io.Writer, io.Writer, func()) {
	if !slices.Contains(cfg.Chat, "shell") || !isTerminal(stdin) || !isTerminal(stdout) {
		return stderr, stdout, func() {}
	}
	path := filepath.Join(filepath.Dir(cfg.Audit.File), "passcodebot.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "passcodebot: logging to stderr: %v\n", err)
		return stderr, stdout, func() {}
	}
	cat, err := catalog.New(cfg.Locale)
	note := "logs: " + path
	if err == nil {
		note = cat.T(cfg.Locale, "shell_logs_to", map[string]any{"File": path})
	}
	return f, &terminalOut{Writer: stdout, note: note}, func() { f.Close() }
}
