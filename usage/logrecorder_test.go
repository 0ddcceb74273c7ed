package usage_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// logRecorder is the reporter's log, as lura's logger would write it,
// with the queries the tests make of it.
type logRecorder struct{ usagetest.Log }

func newLogRecorder() *logRecorder { return &logRecorder{} }

// lines returns the lines logged so far, "LEVEL: message" each.
func (l *logRecorder) lines() []string { return l.Lines() }

// find reports whether a line of level contains substr.
func (l *logRecorder) find(level, substr string) bool {
	return l.count(level, substr) > 0
}

// count counts the lines of level that contain substr.
func (l *logRecorder) count(level, substr string) int {
	n := 0
	for _, s := range l.lines() {
		if strings.HasPrefix(s, level+": ") && strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func (l *logRecorder) String() string {
	return strings.TrimSuffix(l.Log.String(), "\n")
}

// checkLogStyle: every line is one capitalised message without Go's
// "usage:" prefix, as the gateway's tag must be the only one.
func checkLogStyle(t *testing.T, logs *logRecorder) {
	t.Helper()
	for _, s := range logs.lines() {
		_, msg, ok := strings.Cut(s, ": ")
		if !ok || msg == "" {
			t.Errorf("log line %q has no level", s)
			continue
		}
		if strings.Contains(strings.ToLower(s), "usage:") {
			t.Errorf("log line %q repeats the usage: prefix", s)
		}
		if r := []rune(msg)[0]; !unicode.IsUpper(r) {
			t.Errorf("log line %q not capitalised", s)
		}
	}
}
