package usage

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ErrInvalidOption is wrapped by every *OptionError.
var ErrInvalidOption = errors.New("usage: invalid option")

// OptionError names the Options field that [New] or [Report] rejected.
type OptionError struct {
	Field  string // the Options field, e.g. "URL"
	Value  string // the rejected value
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("usage: invalid option %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// optionError turns a shared rule's *FieldError into an *OptionError for
// the Options field, quoting at most a short line of the value.
func optionError(field, value string, err error) *OptionError {
	reason := err.Error()
	var fe *FieldError
	if errors.As(err, &fe) {
		reason = fe.Reason
	}
	return &OptionError{Field: field, Value: cut(value, 80), Reason: reason}
}

// cut shortens s to at most n bytes at a character boundary, marking the
// cut with "...".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// validate checks what has no sensible default. URL is only needed when
// the reporter builds its own client.
func (o *Options) validate(needURL bool) error {
	// The IDs and the version follow the rules a collector checks (see
	// limits.go): a report it would refuse is an option error here.
	for _, f := range []struct{ name, value string }{{"ClusterID", o.ClusterID}, {"ServerID", o.ServerID}} {
		if err := ValidateID(f.name, f.value); err != nil {
			return optionError(f.name, f.value, err)
		}
	}
	if err := ValidateVersion(o.Version); err != nil {
		return optionError("Version", o.Version, err)
	}
	if o.URL == "" && needURL {
		return &OptionError{Field: "URL", Reason: "required: the base URL of the collector"}
	}
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &OptionError{Field: "URL", Value: cut(o.URL, 200), Reason: "must be an absolute http or https URL"}
		}
	}
	if o.HashBits > MaxHashBits {
		return &OptionError{Field: "HashBits", Value: fmt.Sprint(o.HashBits), Reason: fmt.Sprintf("at most %d", MaxHashBits)}
	}
	if o.Timeout < 0 {
		return &OptionError{Field: "Timeout", Value: o.Timeout.String(), Reason: "must not be negative"}
	}
	if o.ReportLapse < 0 {
		return &OptionError{Field: "ReportLapse", Value: o.ReportLapse.String(), Reason: "must not be negative"}
	}
	return nil
}

// withDefaults resolves every default in one place.
func (o Options) withDefaults() Options {
	o.URL = strings.TrimRight(o.URL, "/")
	if o.HashBits == 0 {
		o.HashBits = hashBits
	}
	if o.SaltChars == 0 {
		o.SaltChars = saltChars
	}
	if o.SessionEndpoint == "" {
		o.SessionEndpoint = sessionEndpoint
	}
	if o.ReportEndpoint == "" {
		o.ReportEndpoint = reportEndpoint
	}
	if o.Timeout == 0 {
		o.Timeout = timeout
	}
	if o.ReportLapse == 0 {
		o.ReportLapse = reportLapse
	}
	if o.Logger == nil {
		o.Logger = noopLogger{}
	}
	return o
}

type noopLogger struct{}

func (noopLogger) Debug(...interface{})   {}
func (noopLogger) Info(...interface{})    {}
func (noopLogger) Warning(...interface{}) {}
func (noopLogger) Error(...interface{})   {}
