package httpx

import (
	"fmt"
	"net/http"
)

// Error is what a handler returns to refuse a request: the status, the
// message the client reads and the reason counted in the metrics and
// logs. [Router.Handler] turns it into the answer.
type Error struct {
	Code       int
	Reason     string // a metric label, e.g. "bad_token"
	Msg        string
	RetryAfter int    // seconds; 0: no Retry-After header
	Allow      string // the Allow header of a 405
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Reason, e.Msg) }

// Fail is a refusal with a formatted message.
func Fail(code int, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// ReasonMethod is the reason of a 405.
const ReasonMethod = "method"

// MethodNotAllowed is a 405 naming the method to use.
func MethodNotAllowed(allow string) *Error {
	return &Error{Code: http.StatusMethodNotAllowed, Reason: ReasonMethod, Msg: "method not allowed, use " + allow, Allow: allow}
}

// ErrNotFound answers every path nothing is registered for.
var ErrNotFound = &Error{Code: http.StatusNotFound, Reason: "not_found", Msg: "not found"}

// Unavailable is a 503 asking the client to come back in 5 seconds.
func Unavailable(msg string) *Error {
	return &Error{Code: http.StatusServiceUnavailable, Reason: "unavailable", RetryAfter: 5, Msg: msg}
}

// ReadOnly refuses anything but GET and HEAD.
func ReadOnly(r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return MethodNotAllowed("GET")
	}
	return nil
}
