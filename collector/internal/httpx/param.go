package httpx

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// paramError is a bad query or path parameter: its name, the value given
// and what is wanted.
type paramError struct{ name, value, want string }

// maxEchoed bounds how much of a bad value an error answer quotes back,
// so that every error answer stays under 1 KiB however long its input.
const maxEchoed = 64

func (e *paramError) Error() string {
	return fmt.Sprintf("invalid %s %s: want %s", e.name, Echo(e.value), e.want)
}

// Echo quotes at most 64 bytes of v, for an answer that names a value
// the client sent, marking a cut.
func Echo(v string) string {
	if len(v) <= maxEchoed {
		return strconv.Quote(v)
	}
	return strconv.Quote(strings.ToValidUTF8(v[:maxEchoed], "")) + fmt.Sprintf("… (%d bytes)", len(v))
}

// InvalidParam is a 400 naming the parameter, quoting (at most 64 bytes
// of) its value and saying what is wanted.
func InvalidParam(name, value, want string) *Error {
	return BadParam(&paramError{name, value, want})
}

// BadParam is a 400 whose message is err's, which names the parameter.
func BadParam(err error) *Error {
	return &Error{Code: http.StatusBadRequest, Reason: "bad_param", Msg: err.Error()}
}

// IntParam reads an optional integer query parameter in lo..hi, def when
// absent; a bad one is a 400 naming it.
func IntParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" && !r.URL.Query().Has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, InvalidParam(name, v, fmt.Sprintf("an integer from %d to %d", lo, hi))
	}
	return n, nil
}
