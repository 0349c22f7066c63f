// Package fleet is a device directory that needs no account: users and devices
// from a YAML file (an embedded demo by default), with simulated passcode resets.
// It implements the engine's Devices and Directory ports.
package fleet

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

//go:embed demo.yaml
var demo []byte

// Demo returns the embedded demo file.
func Demo() []byte { return slices.Clone(demo) }

type fileUser struct {
	ID      string       `yaml:"id"`
	UPN     string       `yaml:"upn"`
	Name    string       `yaml:"name"`
	Devices []fileDevice `yaml:"devices"`
}

type fileDevice struct {
	ID       string              `yaml:"id"`
	Name     string              `yaml:"name"`
	Maker    string              `yaml:"maker"`
	Model    string              `yaml:"model"`
	OS       string              `yaml:"os"`
	Version  string              `yaml:"version"`
	Mode     resetflow.Mode      `yaml:"mode"`
	Owner    resetflow.Ownership `yaml:"owner"`
	LastSync time.Time           `yaml:"last_sync"`
	Simulate string              `yaml:"simulate"` // "", "fail", "not_supported", "never": how the reset ends
}

// Fleet is the embedded directory. It is safe for concurrent use.
type Fleet struct {
	clock clock.Clock
	delay time.Duration

	users   []resetflow.User
	devices map[string][]resetflow.Device // user id -> devices
	byID    map[string]resetflow.Device
	sim     map[string]string

	mu      sync.Mutex
	actions map[string]*action // device id -> latest reset
	resets  int
}

type action struct {
	started  time.Time
	ready    time.Time
	passcode string
	state    resetflow.ActionState
	code     string
}

// Load parses a fleet file. delay is how long a simulated reset takes.
func Load(raw []byte, clk clock.Clock, delay time.Duration) (*Fleet, error) {
	var f struct {
		Users []fileUser `yaml:"users"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	fl := &Fleet{clock: clk, delay: delay, devices: map[string][]resetflow.Device{}, byID: map[string]resetflow.Device{}, sim: map[string]string{}, actions: map[string]*action{}}
	for i, u := range f.Users {
		if u.ID == "" || u.UPN == "" {
			return nil, fmt.Errorf("fleet: users[%d]: id and upn are required", i)
		}
		fl.users = append(fl.users, resetflow.User{ID: u.ID, UPN: u.UPN, DisplayName: u.Name})
		for j, d := range u.Devices {
			if d.ID == "" || !slices.Contains(resetflow.KnownModes, d.Mode) {
				return nil, fmt.Errorf("fleet: users[%d].devices[%d]: needs an id and a known mode, got %q", i, j, d.Mode)
			}
			if _, dup := fl.byID[d.ID]; dup {
				return nil, fmt.Errorf("fleet: device id %q appears twice", d.ID)
			}
			switch d.Simulate {
			case "", "fail", "not_supported", "never":
			default:
				return nil, fmt.Errorf("fleet: users[%d].devices[%d].simulate: %q is not fail, not_supported or never", i, j, d.Simulate)
			}
			owner := d.Owner
			if owner == "" {
				owner = resetflow.OwnerUnknown
			}
			dev := resetflow.Device{
				ID: d.ID, UserID: u.ID, UserUPN: u.UPN, Name: d.Name, Model: d.Model, Maker: d.Maker,
				OS: d.OS, OSVersion: d.Version, Mode: d.Mode, Owner: owner, LastSync: d.LastSync,
			}
			fl.devices[u.ID] = append(fl.devices[u.ID], dev)
			fl.byID[d.ID] = dev
			fl.sim[d.ID] = d.Simulate
		}
	}
	return fl, nil
}

// LoadFile loads a fleet file from disk, or the embedded demo when path is empty.
func LoadFile(path string, clk clock.Clock, delay time.Duration) (*Fleet, error) {
	if path == "" {
		return Load(demo, clk, delay)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	return Load(raw, clk, delay)
}

// Users lists the directory's users.
func (f *Fleet) Users() []resetflow.User { return slices.Clone(f.users) }

// LookupUser finds a user by UPN, case-insensitively.
func (f *Fleet) LookupUser(_ context.Context, email string) (resetflow.User, error) {
	for _, u := range f.users {
		if strings.EqualFold(u.UPN, strings.TrimSpace(email)) {
			return u, nil
		}
	}
	return resetflow.User{}, &resetflow.Error{Kind: resetflow.KindNotFound, Op: "fleet lookup user", Err: errors.New("no such user")}
}

// ListDevices returns the user's devices.
func (f *Fleet) ListDevices(_ context.Context, u resetflow.User) ([]resetflow.Device, error) {
	return slices.Clone(f.devices[u.ID]), nil
}

// ResetPasscode starts a simulated reset that finishes after the fleet's delay.
func (f *Fleet) ResetPasscode(_ context.Context, d resetflow.Device) error {
	dev, ok := f.byID[d.ID]
	if !ok {
		return &resetflow.Error{Kind: resetflow.KindNotFound, Op: "fleet reset", Code: "ResourceNotFound"}
	}
	now := f.clock.Now()
	a := &action{started: now, ready: now.Add(f.delay), state: resetflow.ActionDone}
	switch f.sim[d.ID] {
	case "fail":
		a.state, a.code = resetflow.ActionFailed, "DeviceNotReachable"
	case "not_supported":
		a.state = resetflow.ActionNotSupported
	case "never":
		a.ready = now.Add(100 * 365 * 24 * time.Hour)
	default:
		switch dev.Mode {
		case resetflow.ModeIOS:
		case resetflow.ModeWindowsPhone81:
			a.passcode = randomPasscode(digits, 6)
		default:
			a.passcode = randomPasscode(alnum, 8)
		}
	}
	f.mu.Lock()
	f.actions[d.ID] = a
	f.resets++
	f.mu.Unlock()
	return nil
}

// ResetResult reports the simulated reset: pending until its delay has passed.
func (f *Fleet) ResetResult(_ context.Context, d resetflow.Device) (resetflow.ActionResult, error) {
	f.mu.Lock()
	a := f.actions[d.ID]
	f.mu.Unlock()
	if a == nil {
		return resetflow.ActionResult{State: resetflow.ActionNone}, nil
	}
	now := f.clock.Now()
	if now.Before(a.ready) {
		return resetflow.ActionResult{State: resetflow.ActionPending, Started: a.started, Updated: a.started}, nil
	}
	r := resetflow.ActionResult{State: a.state, ErrorCode: a.code, Started: a.started, Updated: a.ready}
	if a.passcode != "" {
		r.Passcode = resetflow.NewSecret("", a.passcode)
	}
	return r, nil
}

// Resets counts the reset requests the fleet has taken.
func (f *Fleet) Resets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resets
}

const (
	digits = "0123456789"
	// alnum leaves out characters that are easy to confuse (0/O, 1/l/I).
	alnum = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
)

// randomPasscode draws n characters from alphabet with crypto/rand. A letters-and-digits
// passcode always has at least one of each.
func randomPasscode(alphabet string, n int) string {
	for {
		b := make([]byte, n)
		for i := range b {
			k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			if err != nil {
				panic(err) // crypto/rand does not fail on supported platforms
			}
			b[i] = alphabet[k.Int64()]
		}
		s := string(b)
		if alphabet == digits || (strings.ContainsAny(s, "23456789") && strings.ContainsAny(s, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz")) {
			return s
		}
	}
}
