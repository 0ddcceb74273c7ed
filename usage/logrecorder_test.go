package usage

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode"
)

// logRecorder is a buffer logger: it writes each line the way lura's
// logging.BasicLogger does ("LEVEL: " then the values, fmt.Println style),
// without the timestamp, to a buffer. (lura's own logger is not used here:
// a test import of lura would put it in the go.sum of every module that
// imports this package.)
type logRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func newLogRecorder() *logRecorder { return &logRecorder{} }

func (l *logRecorder) write(level string, v ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(&l.buf, append([]interface{}{level + ":"}, v...)...)
}

func (l *logRecorder) Debug(v ...interface{})   { l.write("DEBUG", v...) }
func (l *logRecorder) Info(v ...interface{})    { l.write("INFO", v...) }
func (l *logRecorder) Warning(v ...interface{}) { l.write("WARNING", v...) }
func (l *logRecorder) Error(v ...interface{})   { l.write("ERROR", v...) }

// lines returns the lines logged so far, "LEVEL: message" each.
func (l *logRecorder) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSuffix(l.buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
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
