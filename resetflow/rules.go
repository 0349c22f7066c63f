package resetflow

import (
	"errors"
	"fmt"
	"slices"
)

// Decision is what a rule decides for a device.
type Decision string

const (
	// Allow: the bot may reset the passcode, with the rule's outcome.
	Allow Decision = "allow"
	// ContactSupport: reset is not offered for this device; the helpdesk must help.
	ContactSupport Decision = "contact_support"
	// FactoryReset: no passcode reset exists; only a factory reset unlocks the device.
	FactoryReset Decision = "factory_reset"
	// NotSupported: the platform has no passcode reset at all.
	NotSupported Decision = "not_supported"
)

// Outcome is what a reset does on the device, which decides what the user is told.
type Outcome string

const (
	OutcomePasscodeRemoved          Outcome = "passcode_removed"
	OutcomeAndroidTemporary         Outcome = "android_temporary"
	OutcomeWorkProfileTemporary     Outcome = "work_profile_temporary"
	OutcomeWindows10MobileTemporary Outcome = "windows10_mobile_temporary"
	OutcomeWindowsPhone81Temporary  Outcome = "windows_phone81_temporary"
)

// OutcomeInfo says what an outcome produces.
type OutcomeInfo struct {
	TemporaryPasscode bool // a temporary passcode is issued
	DigitsOnly        bool // it has digits only; otherwise letters and digits
}

// Outcomes lists every outcome a rule may name.
var Outcomes = map[Outcome]OutcomeInfo{
	OutcomePasscodeRemoved:          {},
	OutcomeAndroidTemporary:         {TemporaryPasscode: true},
	OutcomeWorkProfileTemporary:     {TemporaryPasscode: true},
	OutcomeWindows10MobileTemporary: {TemporaryPasscode: true},
	OutcomeWindowsPhone81Temporary:  {TemporaryPasscode: true, DigitsOnly: true},
}

// Rule is one row of the eligibility table. Empty conditions match anything.
// The first rule that matches a device decides.
type Rule struct {
	Name         string    `yaml:"name"`
	Modes        []Mode    `yaml:"modes,omitempty"`
	Owner        Ownership `yaml:"owner,omitempty"`
	MinVersion   string    `yaml:"min_version,omitempty"`   // inclusive
	BelowVersion string    `yaml:"below_version,omitempty"` // exclusive
	Decision     Decision  `yaml:"decision"`
	Outcome      Outcome   `yaml:"outcome,omitempty"` // required when Decision is allow
}

func (r Rule) matches(d Device) bool {
	if len(r.Modes) > 0 && !slices.Contains(r.Modes, d.Mode) {
		return false
	}
	if r.Owner != "" && r.Owner != d.Owner {
		return false
	}
	if r.MinVersion != "" && compareVersions(d.OSVersion, r.MinVersion) < 0 {
		return false
	}
	if r.BelowVersion != "" && compareVersions(d.OSVersion, r.BelowVersion) >= 0 {
		return false
	}
	return true
}

// Verdict is the result of applying the rules to a device.
type Verdict struct {
	Rule     string
	Decision Decision
	Outcome  Outcome
}

// Rules is an ordered eligibility table.
type Rules []Rule

// Evaluate applies the first matching rule. A device no rule matches is not supported.
func (rs Rules) Evaluate(d Device) Verdict {
	for _, r := range rs {
		if r.matches(d) {
			return Verdict{Rule: r.Name, Decision: r.Decision, Outcome: r.Outcome}
		}
	}
	return Verdict{Rule: "(no rule matched)", Decision: NotSupported}
}

// OutcomeModes lists the modes each outcome can apply to: an allow rule whose
// modes fall outside its outcome's (an Android passcode for an iPhone) is refused.
var OutcomeModes = map[Outcome][]Mode{
	OutcomePasscodeRemoved:  {ModeIOS},
	OutcomeAndroidTemporary: {ModeAndroidDeviceAdmin, ModeAOSP, ModeAndroidEnterpriseDedicated, ModeAndroidEnterpriseFullyManaged},
	OutcomeWorkProfileTemporary: {ModeAndroidEnterpriseFullyManaged, ModeAndroidEnterpriseCorporateProfile,
		ModeAndroidEnterprisePersonalProfile},
	OutcomeWindows10MobileTemporary: {ModeWindows10Mobile},
	OutcomeWindowsPhone81Temporary:  {ModeWindowsPhone81},
}

// Validate checks that every rule names known modes, decisions and outcomes, and
// that an allow rule's outcome can apply to each of its modes. It reports every
// problem at once (errors.Join), each naming the rule by position, as "rules[2].outcome".
func (rs Rules) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, r := range rs {
		at := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" {
			add("%s.name: missing", at)
		}
		for _, m := range r.Modes {
			if !slices.Contains(KnownModes, m) {
				add("%s.modes: unknown mode %q (known: %v)", at, m, KnownModes)
			}
		}
		switch r.Owner {
		case "", OwnerCompany, OwnerPersonal, OwnerUnknown:
		default:
			add("%s.owner: %q is not company, personal or unknown", at, r.Owner)
		}
		switch r.Decision {
		case Allow:
			fits, ok := OutcomeModes[r.Outcome]
			if !ok {
				add("%s.outcome: %q is not a known outcome", at, r.Outcome)
				break
			}
			if len(r.Modes) == 0 {
				add("%s.modes: an allow rule must name its modes; outcome %s applies only to %v", at, r.Outcome, fits)
			}
			for _, m := range r.Modes {
				if slices.Contains(KnownModes, m) && !slices.Contains(fits, m) {
					add("%s.outcome: %s cannot apply to mode %s (it applies to %v)", at, r.Outcome, m, fits)
				}
			}
		case ContactSupport, FactoryReset, NotSupported:
			if r.Outcome != "" {
				add("%s.outcome: only an allow rule has an outcome", at)
			}
		default:
			add("%s.decision: %q is not allow, contact_support, factory_reset or not_supported", at, r.Decision)
		}
	}
	return errors.Join(errs...)
}

// DefaultRules is the Intune support matrix for self-service passcode reset
// (Intune's documented support of the Reset passcode action). config.example.yaml
// spells out the same table.
func DefaultRules() Rules {
	return Rules{
		// "Remove passcode" is documented for corporate-owned iOS/iPadOS (Intune
		// remote actions, 2025); User Enrollment is excluded. Personal device-enrolled
		// iPhones go to the helpdesk by default: an administrator whose tenant offers
		// the action for them may switch ios-personal to allow / passcode_removed.
		{Name: "ios-user-enrollment", Modes: []Mode{ModeIOSUserEnrollment}, Decision: NotSupported},
		{Name: "ios-company", Modes: []Mode{ModeIOS}, Owner: OwnerCompany, Decision: Allow, Outcome: OutcomePasscodeRemoved},
		{Name: "ios-personal", Modes: []Mode{ModeIOS}, Decision: ContactSupport},
		{Name: "android-device-admin-7-and-later", Modes: []Mode{ModeAndroidDeviceAdmin}, MinVersion: "7.0", Decision: FactoryReset},
		{Name: "android-device-admin-before-7", Modes: []Mode{ModeAndroidDeviceAdmin}, Decision: Allow, Outcome: OutcomeAndroidTemporary},
		{Name: "android-enterprise-dedicated", Modes: []Mode{ModeAndroidEnterpriseDedicated}, Decision: ContactSupport},
		{Name: "android-enterprise-personal-work-profile-8-and-later", Modes: []Mode{ModeAndroidEnterprisePersonalProfile}, MinVersion: "8.0", Decision: ContactSupport},
		{Name: "android-enterprise-work-profile", Modes: []Mode{ModeAndroidEnterpriseFullyManaged, ModeAndroidEnterpriseCorporateProfile, ModeAndroidEnterprisePersonalProfile}, Decision: Allow, Outcome: OutcomeWorkProfileTemporary},
		{Name: "aosp", Modes: []Mode{ModeAOSP}, Decision: Allow, Outcome: OutcomeAndroidTemporary},
		{Name: "windows10-mobile", Modes: []Mode{ModeWindows10Mobile}, Decision: Allow, Outcome: OutcomeWindows10MobileTemporary},
		{Name: "windows-phone-8-1", Modes: []Mode{ModeWindowsPhone81}, Decision: Allow, Outcome: OutcomeWindowsPhone81Temporary},
		{Name: "windows-and-macos", Modes: []Mode{ModeWindows, ModeMacOS}, Decision: NotSupported},
		{Name: "other-company-owned", Owner: OwnerCompany, Decision: ContactSupport},
		{Name: "everything-else", Decision: NotSupported},
	}
}
