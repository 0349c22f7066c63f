package intune

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Application permissions. Each requirement is met by any of its names; the
// first is the least privileged one, which docs/intune.md asks for.
var (
	permRead       = []string{"DeviceManagementManagedDevices.Read.All", "DeviceManagementManagedDevices.ReadWrite.All"}
	permPrivileged = []string{"DeviceManagementManagedDevices.PrivilegedOperations.All"}
	permDirectory  = []string{"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)

// CheckReport is what a setup check found. Fields after a failed step are empty.
type CheckReport struct {
	Config Config // effective configuration; its String hides the secret

	TokenOK bool
	// Roles are the application permissions in the token; nil when the token
	// could not be read (Graph tokens are usually readable JWTs).
	Roles []string
	// Missing names each required permission the token lacks.
	Missing []string

	User    resetflow.User
	Devices []resetflow.Device
}

// Check verifies the setup without changing anything: it fetches a token,
// reads the permissions it carries, looks up the user and lists their devices
// as the bot would. The error names the step that failed; the report holds
// what was learnt up to there. No passcode is reset.
func (c *Client) Check(ctx context.Context, upn string) (*CheckReport, error) {
	r := &CheckReport{Config: c.cfg}
	tctx, cancel := context.WithCancelCause(ctx)
	timer := c.clock.AfterFunc(c.cfg.Timeout, func() { cancel(errRequestTimeout) })
	tok, err := c.tokens.token(tctx)
	timer.Stop()
	cause := context.Cause(tctx)
	cancel(nil)
	if err != nil {
		return r, fmt.Errorf("check: getting a token from %s for tenant %s: %w", c.cfg.LoginURL, c.cfg.TenantID, tokenFailure(err, cause))
	}
	r.TokenOK = true
	r.Roles = tokenRoles(tok.AccessToken)
	if r.Roles != nil {
		need := [][]string{permRead, permPrivileged}
		if c.cfg.UserLookup == LookupDirectory {
			need = append(need, permDirectory)
		}
		for _, group := range need {
			if !slices.ContainsFunc(group, func(p string) bool { return slices.Contains(r.Roles, p) }) {
				r.Missing = append(r.Missing, group[0])
			}
		}
	}

	u, err := c.LookupUser(ctx, upn)
	if err != nil {
		return r, fmt.Errorf("check: looking up %s: %w", upn, err)
	}
	r.User = u
	devs, err := c.ListDevices(ctx, u)
	if err != nil {
		return r, fmt.Errorf("check: listing the devices of %s: %w", upn, err)
	}
	r.Devices = devs
	return r, nil
}

// tokenRoles reads the roles claim of a JWT access token without verifying
// it (Graph verifies it; we only report). nil when unreadable.
func tokenRoles(tok string) []string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return nil
	}
	if claims.Roles == nil {
		return []string{}
	}
	slices.Sort(claims.Roles)
	return claims.Roles
}

// Write prints the report for a person, in English.
func (r *CheckReport) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	p("Graph:\t%s (device list and results: %s, reset: %s)\n", r.Config.GraphURL, r.Config.BetaVersion, r.Config.APIVersion)
	p("Tenant:\t%s\n", r.Config.TenantID)
	p("App:\t%s\n", r.Config.ClientID)
	if !r.TokenOK {
		p("Token:\tFAILED\n")
		return tw.Flush()
	}
	p("Token:\tok\n")
	switch {
	case r.Roles == nil:
		p("Permissions:\t(the token does not say)\n")
	case len(r.Roles) == 0:
		p("Permissions:\tnone: grant admin consent\n")
	default:
		p("Permissions:\t%s\n", strings.Join(r.Roles, ", "))
	}
	if len(r.Missing) > 0 {
		p("MISSING:\t%s\n", strings.Join(r.Missing, ", "))
	}
	if r.User.UPN == "" {
		return tw.Flush()
	}
	id := r.User.ID
	if id == "" {
		id = "(unknown: no devices)"
	}
	p("User:\t%s  id %s  %s\n", r.User.UPN, id, r.User.DisplayName)
	if r.Devices == nil {
		return tw.Flush()
	}
	p("Devices:\t%d\n", len(r.Devices))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Devices) == 0 {
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tMODE\tOWNER\tOS\tVERSION\tMODEL\tLAST SYNC\tID")
	for _, d := range r.Devices {
		sync := "-"
		if !d.LastSync.IsZero() {
			sync = d.LastSync.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Mode, d.Owner, d.OS, d.OSVersion, strings.TrimSpace(d.Maker+" "+d.Model), sync, d.ID)
	}
	return tw.Flush()
}

// RunCheck is the `check` subcommand: it builds a client from cfg (defaults
// applied, validated), checks the setup for upn and prints the report to w,
// also when a step fails. The error names the failed step.
func RunCheck(ctx context.Context, cfg Config, opts Options, upn string, w io.Writer) error {
	c, err := New(cfg, opts)
	if err != nil {
		return err
	}
	r, err := c.Check(ctx, upn)
	if werr := r.Write(w); werr != nil && err == nil {
		err = werr
	}
	return err
}
