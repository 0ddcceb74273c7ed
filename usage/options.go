package usage

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
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

// validate checks what has no sensible default. URL is only needed when
// the reporter builds its own client.
func (o *Options) validate(needURL bool) error {
	if o.ClusterID == "" {
		return &OptionError{Field: "ClusterID", Reason: "required"}
	}
	if o.ServerID == "" {
		return &OptionError{Field: "ServerID", Reason: "required"}
	}
	if o.URL == "" && needURL {
		return &OptionError{Field: "URL", Reason: "required: the base URL of the collector"}
	}
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &OptionError{Field: "URL", Value: o.URL, Reason: "must be an absolute http or https URL"}
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
