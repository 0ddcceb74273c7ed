package usagetest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
)

// A Log records what a program logs while the test reads it: it is safe
// for concurrent use. It is an io.Writer, for a logger that writes lines
// (lura's logging.NewLogger, log.New, slog.NewTextHandler) or a process's
// output, and a usage.Logger, which writes each line as lura's
// logging.BasicLogger does ("LEVEL: " then the values, fmt.Println style)
// without the timestamp. The zero Log is empty and ready to use.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines returns the lines written so far, without their line ends.
func (l *Log) Lines() []string {
	s := strings.TrimSuffix(l.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func (l *Log) println(level string, v ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(&l.buf, append([]interface{}{level + ":"}, v...)...)
}

// Debug writes a DEBUG line.
func (l *Log) Debug(v ...interface{}) { l.println("DEBUG", v...) }

// Info writes an INFO line.
func (l *Log) Info(v ...interface{}) { l.println("INFO", v...) }

// Warning writes a WARNING line.
func (l *Log) Warning(v ...interface{}) { l.println("WARNING", v...) }

// Error writes an ERROR line.
func (l *Log) Error(v ...interface{}) { l.println("ERROR", v...) }
