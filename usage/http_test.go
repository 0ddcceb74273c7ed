package usage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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
