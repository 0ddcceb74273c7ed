package store

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// Names is the allowlist of the names a payload is counted by. A feature
// (an extra_config namespace) counts by name only when usage/krakend
// knows it ([krakend.Canonical], which also maps a legacy namespace to
// its current name) or when the operator listed it; a method only when
// [krakend.KnownMethod] knows it. Every other name counts as [Other], so
// a reporter cannot put a name of its choice on the dashboard, in the
// CSV or in a /metrics label.
//
// The zero value and nil are the default: usage/krakend's tables only.
type Names struct {
	extra map[string]bool
}

// DefaultNames counts by name what usage/krakend knows, nothing more.
var DefaultNames = &Names{}

// NewNames returns the default allowlist extended with features (say the
// namespaces of an operator's own plugins). Each must be a valid name (1
// to MaxNameLen characters of [A-Za-z0-9_./-]) other than [Other].
func NewNames(features []string) (*Names, error) {
	n := &Names{extra: map[string]bool{}}
	for _, f := range features {
		if !validName(f) || f == Other {
			return nil, fmt.Errorf("store: feature name %q: want 1 to %d characters of [A-Za-z0-9_./-], not %q", f, MaxNameLen, Other)
		}
		n.extra[f] = true
	}
	return n, nil
}

// ReadNames reads a features file: one name per line; blank lines and
// lines starting with # are ignored. The error names the line.
func ReadNames(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if !validName(s) || s == Other {
			return nil, fmt.Errorf("line %d: feature name %q: want 1 to %d characters of [A-Za-z0-9_./-], not %q", line, s, MaxNameLen, Other)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// Feature is the name ns counts as: its current name when usage/krakend
// knows it, ns itself when the operator listed it, else Other.
func (n *Names) Feature(ns string) string {
	if c, ok := krakend.Canonical(ns); ok {
		return c
	}
	if n != nil && n.extra[ns] {
		return ns
	}
	return Other
}

// Method is the name the HTTP method m counts as: upper case when
// krakend.KnownMethod knows it, else Other.
func (n *Names) Method(m string) string {
	if u := strings.ToUpper(m); krakend.KnownMethod(u) {
		return u
	}
	return Other
}

// Known reports whether name counts by name as a feature.
func (n *Names) Known(name string) bool { return name != Other && n.Feature(name) == name }
