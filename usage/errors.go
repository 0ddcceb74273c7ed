package usage

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// opError is a failed step of the reporter: opening a session or sending a
// report. Its message keeps Go's "usage: " package prefix once, however
// deep the chain: an inner error of this package loses its own.
type opError struct {
	op   string // "session" or "report"
	url  string // the collector's base URL (Options.URL)
	path string // the endpoint's path on url
	err  error
}

func (e *opError) Error() string {
	return "usage: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "usage: ")
}

func (e *opError) Unwrap() error { return e.err }

// sessionNotFound reports whether err is a 404 answer to the session
// request: the collector's URL or its session path is wrong, which no
// outage explains, and what the WARNING of a failed streak says instead.
func sessionNotFound(err error) (*opError, *StatusError, bool) {
	var oe *opError
	var se *StatusError
	if errors.As(err, &oe) && oe.op == "session" && oe.url != "" && errors.As(err, &se) && se.Code == http.StatusNotFound {
		return oe, se, true
	}
	return nil, nil, false
}

// panicError is what a recovered panic in a UsageClient or Minter becomes,
// so that the reporter treats it as one more failed attempt.
type panicError struct {
	where string
	value interface{}
}

func (e *panicError) Error() string {
	return fmt.Sprintf("usage: recovered from panic in %s: %v", e.where, e.value)
}

// maxReasonLen bounds a reason in a log line: whatever a collector or a
// client says, a log line stays one short line.
const maxReasonLen = 200

// logReason renders err for a log line: without Go's "usage: " package
// prefix, at its start or wrapped inside, (the gateway adds its own tag), on one line, at most maxReasonLen
// bytes.
func logReason(err error) string {
	s := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "usage: "), ": usage: ", ": ")
	return oneLine(s, maxReasonLen)
}

// oneLine folds every run of whitespace and control characters into one
// space, replaces invalid UTF-8, and cuts s after at most n bytes, at a
// character boundary, marking the cut with "...".
func oneLine(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	var b strings.Builder
	space := false
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' || (r >= 0x80 && r < 0xa0) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if b.Len()+len(string(r)) > n {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
