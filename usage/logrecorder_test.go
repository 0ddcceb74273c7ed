package usage

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/luraproject/lura/v2/logging"
)

// logRecorder captures what a user would see in the gateway log: lura's
// own logger, at DEBUG, writing to a buffer.
type logRecorder struct {
	logging.Logger
	mu  sync.Mutex
	buf bytes.Buffer
}

func newLogRecorder() *logRecorder {
	l := &logRecorder{}
	lg, err := logging.NewLogger("DEBUG", (*lockedWriter)(l), "")
	if err != nil {
		panic(err)
	}
	l.Logger = lg
	return l
}

type lockedWriter logRecorder

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// lines returns the messages logged so far as "LEVEL: message", without
// the date and time lura's logger puts first.
func (l *logRecorder) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range strings.Split(strings.TrimSuffix(l.buf.String(), "\n"), "\n") {
		if s == "" {
			continue
		}
		// "2006/01/02 15:04:05  INFO: message"
		if len(s) > len("2006/01/02 15:04:05") {
			s = s[len("2006/01/02 15:04:05"):]
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

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
	return strings.Join(l.lines(), "\n")
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
