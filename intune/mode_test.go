package intune

import (
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
)

func TestModeOf(t *testing.T) {
	tests := []struct {
		name                         string
		os, version, enroll, devType string
		want                         resetflow.Mode
	}{
		{"iPhone", "iOS", "18.1", "appleBulkWithUser", "iPhone", resetflow.ModeIOS},
		{"iPad reporting iPadOS", "iPadOS", "17.6", "userEnrollment", "iPad", resetflow.ModeIOS},
		{"iOS by device type only", "", "", "", "iPhone", resetflow.ModeIOS},
		{"iOS automated device enrollment without user affinity", "iOS", "18.1", "appleBulkWithoutUser", "iPhone", resetflow.ModeIOS},
		{"iOS enrolled by a device enrollment manager", "iOS", "18.1", "deviceEnrollmentManager", "iPhone", resetflow.ModeIOS},
		{"iOS enrollment type not collected", "iOS", "18.1", "unknown", "iPhone", resetflow.ModeIOS},
		{"iOS User Enrollment", "iOS", "18.1", "appleUserEnrollment", "iPhone", resetflow.ModeIOSUserEnrollment},
		{"iOS User Enrollment with service account", "iPadOS", "17.6", "appleUserEnrollmentWithServiceAccount", "iPad", resetflow.ModeIOSUserEnrollment},
		{"iOS account-driven User Enrollment (beta)", "iOS", "18.1", "appleAccountDrivenUserEnrollment", "iPhone", resetflow.ModeIOSUserEnrollment},
		{"iOS future user enrollment variant", "iOS", "19.0", "appleSomethingUserEnrollment", "iPhone", resetflow.ModeIOSUserEnrollment},
		{"iOS unknownFutureValue", "iOS", "19.0", "unknownFutureValue", "iPhone", resetflow.ModeUnknown},
		{"iOS enrollment type Microsoft adds later", "iOS", "19.0", "appleWebDeviceEnrollment", "iPhone", resetflow.ModeUnknown},
		{"dedicated", "Android", "11", "androidEnterpriseDedicatedDevice", "androidEnterprise", resetflow.ModeAndroidEnterpriseDedicated},
		{"fully managed", "Android", "14", "androidEnterpriseFullyManaged", "androidEnterprise", resetflow.ModeAndroidEnterpriseFullyManaged},
		{"corporate work profile", "Android", "15", "androidEnterpriseCorporateWorkProfile", "androidEnterprise", resetflow.ModeAndroidEnterpriseCorporateProfile},
		{"enrollment type in other case", "android", "15", "ANDROIDENTERPRISEFULLYMANAGED", "", resetflow.ModeAndroidEnterpriseFullyManaged},
		{"personal work profile by device type", "Android", "14", "userEnrollment", "androidForWork", resetflow.ModeAndroidEnterprisePersonalProfile},
		{"personal work profile by enrollment type", "Android", "14", "androidEnterprisePersonalWorkProfile", "androidEnterprise", resetflow.ModeAndroidEnterprisePersonalProfile},
		{"personal work profile by OS name", "AndroidForWork", "13", "", "", resetflow.ModeAndroidEnterprisePersonalProfile},
		{"AOSP userless", "Android", "12", "androidAOSPUserlessDeviceEnrollment", "androidnGMS", resetflow.ModeAOSP},
		{"AOSP user associated", "Android", "12", "androidAOSPUserOwnedDeviceEnrollment", "", resetflow.ModeAOSP},
		{"AOSP by device type", "Android", "12", "unknown", "androidnGMS", resetflow.ModeAOSP},
		{"Android Enterprise without a mode", "Android", "14", "unknown", "androidEnterprise", resetflow.ModeUnknown},
		{"device administrator", "Android", "9.0", "userEnrollment", "android", resetflow.ModeAndroidDeviceAdmin},
		{"device administrator without device type", "Android", "6.0.1", "", "", resetflow.ModeAndroidDeviceAdmin},
		{"Windows Phone 8.1", "Windows", "8.10.14219.341", "userEnrollment", "windowsPhone", resetflow.ModeWindowsPhone81},
		{"Windows Phone 8.1 short version", "Windows Phone", "8.1", "", "", resetflow.ModeWindowsPhone81},
		{"Windows Phone 8.0 is plain Windows", "Windows", "8.0.10501", "", "windowsPhone", resetflow.ModeWindows},
		{"Windows 10 Mobile", "Windows", "10.0.15254.1", "userEnrollment", "windowsPhone", resetflow.ModeWindows10Mobile},
		{"Windows desktop", "Windows", "10.0.22631.4317", "windowsAzureADJoin", "desktop", resetflow.ModeWindows},
		{"Windows 10 desktop version is not Mobile", "Windows", "10.0.19045", "windowsAutoEnrollment", "windowsRT", resetflow.ModeWindows},
		{"macOS", "macOS", "14.5", "appleBulkWithUser", "macMDM", resetflow.ModeMacOS},
		{"Mac by device type", "", "", "", "mac", resetflow.ModeMacOS},
		{"Linux", "Linux", "22.04", "", "linux", resetflow.ModeUnknown},
		{"visionOS", "visionOS", "1.0", "", "visionOS", resetflow.ModeUnknown},
		{"empty", "", "", "", "", resetflow.ModeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := modeOf(tt.os, tt.version, tt.enroll, tt.devType); got != tt.want {
				t.Errorf("modeOf(%q, %q, %q, %q) = %q; want %q", tt.os, tt.version, tt.enroll, tt.devType, got, tt.want)
			}
		})
	}
}

func TestOwnerOf(t *testing.T) {
	tests := map[string]resetflow.Ownership{
		"company": resetflow.OwnerCompany, "Personal": resetflow.OwnerPersonal,
		"unknown": resetflow.OwnerUnknown, "": resetflow.OwnerUnknown, "unknownFutureValue": resetflow.OwnerUnknown,
	}
	for in, want := range tests {
		if got := ownerOf(in); got != want {
			t.Errorf("ownerOf(%q) = %q; want %q", in, got, want)
		}
	}
}
