package usage

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits shared by the reporter and any collector. They are defined once,
// here, so the two sides cannot disagree.
const (
	// OriginalHashBits is the difficulty krakend-usage v2 clients always
	// mint. A collector asking for more refuses every original client.
	OriginalHashBits uint = 20
	// MaxHashBits is the most proof of work a reporter will mint: the cap
	// for Options.HashBits and for the bits a collector asks for in its
	// session reply. A collector requiring more would refuse every report.
	MaxHashBits uint = 28

	// MaxIDLen is the longest ClusterID or ServerID, in characters.
	MaxIDLen = 128
	// MaxVersionLen is the longest Version, in characters.
	MaxVersionLen = 64
	// MaxPlatformLen is the longest OS or Arch token.
	MaxPlatformLen = 32
	// MaxUptime is the largest plausible Uptime, in seconds (10 years).
	MaxUptime int64 = 10 * 365 * 24 * 60 * 60
	// MaxStoredExtra is the largest Extra a collector keeps. A larger one
	// still counts as a report; only its payload is dropped.
	MaxStoredExtra = 64 << 10
)

// ErrInvalidField is wrapped by every *FieldError.
var ErrInvalidField = errors.New("usage: invalid field")

// FieldError names the report field that failed [UsageData.Validate] or
// [ValidateID], by its JSON name.
type FieldError struct {
	Field  string // "version", "os", "arch", "cluster_id", "server_id" or "uptime"
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("usage: invalid %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrInvalidField.
func (e *FieldError) Unwrap() error { return ErrInvalidField }

// ValidateID checks an ID against the rule both sides share: 1 to MaxIDLen
// printable ASCII characters without spaces (a UUID fits). field names the
// ID in the error.
func ValidateID(field, id string) error {
	switch {
	case id == "":
		return &FieldError{Field: field, Reason: "required"}
	case len(id) > MaxIDLen:
		return &FieldError{Field: field, Reason: fmt.Sprintf("longer than %d characters", MaxIDLen)}
	case strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		return &FieldError{Field: field, Reason: "want printable ASCII characters without spaces"}
	}
	return nil
}

// Validate checks every bounded field of u (everything but Time, whose
// freshness depends on the receiver's clock, and Extra, which is opaque):
//
//   - version: at most MaxVersionLen printable ASCII characters (may be empty);
//   - os, arch: 1 to MaxPlatformLen characters of [a-z0-9_];
//   - cluster_id, server_id: see [ValidateID];
//   - uptime: 0 to MaxUptime seconds.
//
// The error is a *FieldError naming the first bad field.
func (u *UsageData) Validate() error {
	if err := ValidateVersion(u.Version); err != nil {
		return err
	}
	if err := validPlatform("os", u.OS); err != nil {
		return err
	}
	if err := validPlatform("arch", u.Arch); err != nil {
		return err
	}
	if err := ValidateID("cluster_id", u.ClusterID); err != nil {
		return err
	}
	if err := ValidateID("server_id", u.ServerID); err != nil {
		return err
	}
	if u.Uptime < 0 || u.Uptime > MaxUptime {
		return &FieldError{Field: "uptime", Reason: fmt.Sprintf("want 0 to %d seconds", MaxUptime)}
	}
	return nil
}

// validVersion is the version rule, for reports and for Options.Version.
func ValidateVersion(v string) error {
	if !utf8.ValidString(v) || len(v) > MaxVersionLen ||
		strings.IndexFunc(v, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
		return &FieldError{Field: "version", Reason: fmt.Sprintf("want at most %d printable ASCII characters", MaxVersionLen)}
	}
	return nil
}

func validPlatform(field, s string) error {
	if s == "" || len(s) > MaxPlatformLen || strings.IndexFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_'
	}) >= 0 {
		return &FieldError{Field: field, Reason: fmt.Sprintf("want 1 to %d characters of [a-z0-9_]", MaxPlatformLen)}
	}
	return nil
}
