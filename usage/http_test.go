package usage

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBasicClientSend(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		wantErr func(error) bool
		token   string
	}{
		{"ok", 200, nil, `{"token":"abc"}`, nil, "abc"},
		{"created", 201, nil, `{"token":"abc"}`, nil, "abc"},
		{"empty body", 200, nil, ``, nil, ""},
		{"garbage", 200, nil, `<html>`, func(err error) bool { return err != nil }, ""},
		{"5xx with message", 503, nil, `{"status":503,"message":"db down"}`, statusIs(503, "db down", 0), ""},
		{"4xx plain", 400, nil, "bad stamp\n", statusIs(400, "bad stamp", 0), ""},
		{"429 seconds", 429, map[string]string{"Retry-After": "7"}, ``, statusIs(429, "", 7*time.Second), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if ua := r.Header.Get("User-Agent"); ua != "krakend-usage-test" {
					t.Errorf("User-Agent %q", ua)
				}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := &BasicClient{Client: srv.Client(), URL: srv.URL, UserAgent: "krakend-usage-test"}
			var out SessionReply
			err := c.Send(context.Background(), "/session", &SessionRequest{}, &out)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !tt.wantErr(err) {
				t.Fatalf("Send error = %v", err)
			}
			if out.Token != tt.token {
				t.Errorf("token = %q, want %q", out.Token, tt.token)
			}
		})
	}
}

func statusIs(code int, msg string, retry time.Duration) func(error) bool {
	return func(err error) bool {
		var se *StatusError
		return errors.As(err, &se) && se.Code == code && se.Message == msg && se.RetryAfter == retry
	}
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	if got := retryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); got != 90*time.Second {
		t.Errorf("Retry-After date 90s ahead = %s", got)
	}
	if got := retryAfter("99999999999999", now); got != maxRetryAfter {
		t.Errorf("Retry-After of 3 million years = %s, want the %s cap", got, maxRetryAfter)
	}
	for _, v := range []string{"", "-5", "soon", now.Add(-time.Minute).Format(http.TimeFormat)} {
		if got := retryAfter(v, now); got != 0 {
			t.Errorf("retryAfter(%q) = %s, want 0", v, got)
		}
	}
}

// TestStatusErrorIsOneLine: whatever a collector, or whatever answers at a
// wrong URL, sends with an error status, the error is one short line.
func TestStatusErrorIsOneLine(t *testing.T) {
	page := "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n<body>\n" +
		strings.Repeat("<p>nothing here</p>\n", 100) + "</body></html>\n"
	for _, tt := range []struct {
		name, ctype, body string
		status            int
		want              string
	}{
		{"html page", "text/html; charset=utf-8", page, 404, "collector answered 404 Not Found (text/html)"},
		{"html without type", "", "<html><body>Bad Gateway</body></html>", 502, "collector answered 502 Bad Gateway (unknown content type)"},
		{"json message", "application/json", `{"status":400,"message":"bad stamp"}`, 400, "collector answered 400 Bad Request: bad stamp"},
		{"json multi-line message", "application/json", `{"message":"a\nb"}`, 500, "collector answered 500 Internal Server Error: a b"},
		{"json without message", "application/json", `{"status":503}`, 503, "collector answered 503 Service Unavailable (application/json)"},
		{"plain line", "text/plain; charset=utf-8", "database is locked\n", 503, "collector answered 503 Service Unavailable: database is locked"},
		{"plain lines", "text/plain", "line one\nline two\n", 500, "collector answered 500 Internal Server Error (text/plain)"},
		{"long plain", "text/plain", strings.Repeat("x", 1000), 500, "collector answered 500 Internal Server Error (text/plain)"},
		{"binary", "application/octet-stream", "\x00\x01\x02", 500, "collector answered 500 Internal Server Error (application/octet-stream)"},
		{"empty", "", "", 429, "collector answered 429 Too Many Requests"},
		{"unknown code", "", "", 599, "collector answered 599"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tt.ctype}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			err := (&BasicClient{Client: srv.Client(), URL: srv.URL}).Send(context.Background(), "/session", &SessionRequest{}, nil)
			var se *StatusError
			if !errors.As(err, &se) || se.Error() != tt.want {
				t.Errorf("Send error = %v, want %s", err, tt.want)
			}
		})
	}
}
