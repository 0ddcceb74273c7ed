package httpx

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestIntParam: absent is the default; a value out of range or not a
// number is a 400 that names the parameter and quotes at most 64 bytes
// of the value.
func TestIntParam(t *testing.T) {
	for _, tc := range []struct {
		query   string
		want    int
		refused bool
	}{
		{"", 30, false}, {"days=7", 7, false}, {"days=0", 0, true}, {"days=x", 0, true}, {"days=", 0, true},
		{"days=" + strings.Repeat("9", 1000), 0, true},
	} {
		got, err := IntParam(httptest.NewRequest("GET", "/?"+tc.query, nil), "days", 30, 1, 365)
		var e *Error
		switch {
		case tc.refused && (!errors.As(err, &e) || e.Code != 400 || !strings.Contains(e.Msg, "invalid days") || len(e.Msg) > 200):
			t.Errorf("%.20q: got %v, want a short 400 naming days", tc.query, err)
		case !tc.refused && (err != nil || got != tc.want):
			t.Errorf("%q: got %d, %v; want %d", tc.query, got, err, tc.want)
		}
	}
}
