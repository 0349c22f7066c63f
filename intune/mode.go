package intune

import (
	"strings"

	"github.com/passcodebot/passcodebot/resetflow"
)

// modeOf derives the engine's enrollment mode from a managedDevice's
// operatingSystem, osVersion, deviceEnrollmentType and deviceType (beta values;
// matching ignores case).
//
// Android Enterprise modes come from deviceEnrollmentType, which names them only
// in beta. An Android device whose deviceType says Android Enterprise but whose
// enrollment type names no mode is ModeUnknown rather than device administrator:
// guessing would pick the wrong rule. Any other Android device is device
// administrator, the legacy mode.
func modeOf(operatingSystem, osVersion, enrollmentType, deviceType string) resetflow.Mode {
	osName := strings.ToLower(strings.TrimSpace(operatingSystem))
	enroll := strings.ToLower(strings.TrimSpace(enrollmentType))
	dtype := strings.ToLower(strings.TrimSpace(deviceType))

	switch {
	case osName == "ios" || osName == "ipados" || dtype == "iphone" || dtype == "ipad" || dtype == "ipod":
		return appleMode(enroll)

	case strings.HasPrefix(osName, "android") || strings.HasPrefix(dtype, "android"):
		switch {
		case enroll == "androidenterprisededicateddevice":
			return resetflow.ModeAndroidEnterpriseDedicated
		case enroll == "androidenterprisefullymanaged":
			return resetflow.ModeAndroidEnterpriseFullyManaged
		case enroll == "androidenterprisecorporateworkprofile":
			return resetflow.ModeAndroidEnterpriseCorporateProfile
		case strings.HasPrefix(enroll, "androidaosp") || dtype == "androidngms":
			return resetflow.ModeAOSP
		case dtype == "androidforwork" || osName == "androidforwork" || strings.Contains(enroll, "personalworkprofile"):
			return resetflow.ModeAndroidEnterprisePersonalProfile
		case dtype == "androidenterprise" || osName == "androidenterprise":
			return resetflow.ModeUnknown
		default:
			return resetflow.ModeAndroidDeviceAdmin
		}

	case strings.HasPrefix(osName, "windows") || dtype == "windowsphone":
		if dtype == "windowsphone" || osName == "windows phone" || osName == "windowsphone" || osName == "windows mobile" || osName == "windowsmobile" {
			major, minor := majorMinor(osVersion)
			switch {
			case major == 8 && (minor == 1 || minor == 10): // 8.1 reports as 8.10.x
				return resetflow.ModeWindowsPhone81
			case major == 10:
				return resetflow.ModeWindows10Mobile
			}
		}
		return resetflow.ModeWindows

	case osName == "macos" || osName == "mac os x" || osName == "os x" || osName == "macosx" || dtype == "mac" || dtype == "macmdm":
		return resetflow.ModeMacOS
	}
	return resetflow.ModeUnknown
}

// appleMode reads an iPhone's or iPad's deviceEnrollmentType (lower case).
// Device enrollment (Company Portal, automated device enrollment, Apple
// Configurator, a device enrollment manager) is ModeIOS; Apple User Enrollment,
// profile-based or account-driven (beta: appleAccountDrivenUserEnrollment), is
// ModeIOSUserEnrollment, where Intune cannot remove the passcode. Any other value
// (unknownFutureValue, or one Microsoft adds later) is ModeUnknown: the rules then
// refuse rather than guess.
func appleMode(enroll string) resetflow.Mode {
	switch enroll {
	case "", "unknown", "userenrollment", "deviceenrollmentmanager", "applebulkwithuser", "applebulkwithoutuser":
		return resetflow.ModeIOS
	case "appleuserenrollment", "appleuserenrollmentwithserviceaccount", "appleaccountdrivenuserenrollment":
		return resetflow.ModeIOSUserEnrollment
	}
	if strings.Contains(enroll, "userenrollment") {
		return resetflow.ModeIOSUserEnrollment // a later variant of User Enrollment
	}
	return resetflow.ModeUnknown
}

// ownerOf maps managedDeviceOwnerType (company, personal, unknown).
func ownerOf(ownerType string) resetflow.Ownership {
	switch strings.ToLower(strings.TrimSpace(ownerType)) {
	case "company":
		return resetflow.OwnerCompany
	case "personal":
		return resetflow.OwnerPersonal
	}
	return resetflow.OwnerUnknown
}

// majorMinor reads the first two numeric parts of a dotted version; -1 when absent.
func majorMinor(v string) (int, int) {
	parts := strings.SplitN(strings.TrimSpace(v), ".", 3)
	num := func(i int) int {
		if i >= len(parts) || parts[i] == "" {
			return -1
		}
		n := 0
		for _, r := range parts[i] {
			if r < '0' || r > '9' {
				return -1
			}
			n = n*10 + int(r-'0')
			if n > 1<<20 {
				return -1
			}
		}
		return n
	}
	return num(0), num(1)
}
