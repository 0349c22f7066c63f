package resetflow

import (
	"strconv"
	"strings"
	"time"
)

// Mode is how a device is enrolled and managed; eligibility rules match on it.
type Mode string

// Modes the rules know. New modes are only ever added at the end.
const (
	ModeUnknown                           Mode = "unknown"
	ModeIOS                               Mode = "ios"
	ModeAndroidDeviceAdmin                Mode = "android_device_admin"
	ModeAndroidEnterpriseDedicated        Mode = "android_enterprise_dedicated"
	ModeAndroidEnterpriseFullyManaged     Mode = "android_enterprise_fully_managed"
	ModeAndroidEnterpriseCorporateProfile Mode = "android_enterprise_corporate_work_profile"
	ModeAndroidEnterprisePersonalProfile  Mode = "android_enterprise_personal_work_profile"
	ModeAOSP                              Mode = "aosp"
	ModeWindows10Mobile                   Mode = "windows10_mobile"
	ModeWindowsPhone81                    Mode = "windows_phone81"
	ModeWindows                           Mode = "windows"
	ModeMacOS                             Mode = "macos"
	// ModeIOSUserEnrollment is Apple User Enrollment (profile-based or
	// account-driven): a managed partition on a personal device, whose passcode
	// Intune cannot remove.
	ModeIOSUserEnrollment Mode = "ios_user_enrollment"
)

// KnownModes lists every mode, for config validation.
var KnownModes = []Mode{
	ModeUnknown, ModeIOS, ModeAndroidDeviceAdmin, ModeAndroidEnterpriseDedicated,
	ModeAndroidEnterpriseFullyManaged, ModeAndroidEnterpriseCorporateProfile,
	ModeAndroidEnterprisePersonalProfile, ModeAOSP, ModeWindows10Mobile, ModeWindowsPhone81,
	ModeWindows, ModeMacOS, ModeIOSUserEnrollment,
}

// Ownership is who owns a device.
type Ownership string

const (
	OwnerUnknown  Ownership = "unknown"
	OwnerCompany  Ownership = "company"
	OwnerPersonal Ownership = "personal"
)

// Device is one managed device as the engine sees it.
type Device struct {
	ID        string
	UserID    string // directory object id of the primary user
	UserUPN   string // user principal name of the primary user
	Name      string
	Model     string
	Maker     string
	OS        string // as reported, e.g. "iOS", "Android", "Windows"
	OSVersion string
	Mode      Mode
	Owner     Ownership
	LastSync  time.Time
}

// User is a person in the company directory.
type User struct {
	ID          string // object id
	UPN         string
	DisplayName string
}

// Key identifies the user for per-person state (one reset at a time, the daily
// limit): the object id, or the UPN when the directory gave no id.
func (u User) Key() string {
	if u.ID != "" {
		return u.ID
	}
	if u.UPN != "" {
		return "upn:" + strings.ToLower(u.UPN)
	}
	return ""
}

// Identity is who signed in on a re-authentication page.
type Identity struct {
	Subject  string // directory object id (oid), if known
	UPN      string
	TenantID string
	AuthTime time.Time // when the person entered their credentials
}

// compareVersions compares dotted numeric versions ("7.0", "14.2.1").
// Missing parts count as zero; a non-numeric part compares as zero.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x = leadingInt(as[i])
		}
		if i < len(bs) {
			y = leadingInt(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func leadingInt(s string) int {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}
