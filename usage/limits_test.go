package usage

import (
	"errors"
	"strings"
	"testing"
)

func validData() UsageData {
	return UsageData{
		Version: "2.13.2", OS: "linux", Arch: "amd64",
		ClusterID: "1c1a4a4e-6a7e-5b5e-9a4c-3a1b2c3d4e5f", ServerID: "2d2b5b5f-7b8f-5c6f-8b5d-4b2c3d4e5f60",
		Uptime: 3600, Time: 1_700_000_000,
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*UsageData)
		field string // "" means valid
	}{
		{"valid", func(*UsageData) {}, ""},
		{"empty version", func(u *UsageData) { u.Version = "" }, ""},
		{"version of 64", func(u *UsageData) { u.Version = strings.Repeat("v", MaxVersionLen) }, ""},
		{"version with space", func(u *UsageData) { u.Version = "2.13.2 (custom)" }, ""},
		{"version of 65", func(u *UsageData) { u.Version = strings.Repeat("v", MaxVersionLen+1) }, "version"},
		{"version with NUL", func(u *UsageData) { u.Version = "2.13\x00" }, "version"},
		{"version with newline", func(u *UsageData) { u.Version = "2.13\n" }, "version"},
		{"version not ASCII", func(u *UsageData) { u.Version = "2.13é" }, "version"},
		{"version invalid UTF-8", func(u *UsageData) { u.Version = "\xff" }, "version"},
		{"os empty", func(u *UsageData) { u.OS = "" }, "os"},
		{"os upper case", func(u *UsageData) { u.OS = "Linux" }, "os"},
		{"os too long", func(u *UsageData) { u.OS = strings.Repeat("a", MaxPlatformLen+1) }, "os"},
		{"os with slash", func(u *UsageData) { u.OS = "linux/amd64" }, "os"},
		{"arch with dash", func(u *UsageData) { u.Arch = "arm-v7" }, "arch"},
		{"arch underscore", func(u *UsageData) { u.Arch = "mips64le_x" }, ""},
		{"cluster empty", func(u *UsageData) { u.ClusterID = "" }, "cluster_id"},
		{"cluster of 128", func(u *UsageData) { u.ClusterID = strings.Repeat("c", MaxIDLen) }, ""},
		{"cluster of 129", func(u *UsageData) { u.ClusterID = strings.Repeat("c", MaxIDLen+1) }, "cluster_id"},
		{"server with space", func(u *UsageData) { u.ServerID = "a b" }, "server_id"},
		{"server with tab", func(u *UsageData) { u.ServerID = "a\tb" }, "server_id"},
		{"uptime zero", func(u *UsageData) { u.Uptime = 0 }, ""},
		{"uptime ten years", func(u *UsageData) { u.Uptime = MaxUptime }, ""},
		{"uptime negative", func(u *UsageData) { u.Uptime = -1 }, "uptime"},
		{"uptime huge", func(u *UsageData) { u.Uptime = 1<<63 - 1 }, "uptime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := validData()
			tc.edit(&u)
			err := u.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidField) {
				t.Fatalf("Validate: %v, want a *FieldError", err)
			}
			if fe.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
		})
	}
}

func TestHashBitsAboveCapIsAnOptionError(t *testing.T) {
	_, err := New(Options{ClusterID: "c", ServerID: "s", URL: "http://127.0.0.1:1", HashBits: MaxHashBits + 1}, nil)
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Field != "HashBits" {
		t.Fatalf("New with HashBits %d: %v, want an OptionError for HashBits", MaxHashBits+1, err)
	}
}

// TestOptionsFollowTheCollectorsRules: whatever Options accepts, a
// collector accepts in a report; the edge values pass.
func TestOptionsFollowTheCollectorsRules(t *testing.T) {
	for _, v := range []string{"", "2.13.2", "2.13.2 (custom build)", strings.Repeat("v", MaxVersionLen)} {
		opt := Options{ClusterID: strings.Repeat("c", MaxIDLen), ServerID: "~!", URL: "http://127.0.0.1:1", Version: v}
		if err := opt.validate(true); err != nil {
			t.Errorf("Version %q: %v", v, err)
		}
	}
}
