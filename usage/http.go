package usage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxReplySize caps how much of a collector's reply is read. A larger reply
// is an error: nothing a collector says legitimately needs more.
const MaxReplySize = 64 << 10

// ErrReplyTooLarge is returned for a reply body over MaxReplySize.
var ErrReplyTooLarge = errors.New("usage: reply larger than 64 KiB")

// UsageClient talks to a collector.
type UsageClient interface {
	NewSession(context.Context, *SessionRequest) (*SessionReply, error)
	SendReport(context.Context, *ReportRequest) (*ReportReply, error)
}

// Client is the UsageClient over an HTTPClient.
type Client struct {
	HTTPClient
	SessionEndpoint string
	ReportEndpoint  string
}

// NewSession posts in to the session endpoint.
func (c *Client) NewSession(ctx context.Context, in *SessionRequest) (*SessionReply, error) {
	reply := &SessionReply{}
	err := c.Send(ctx, c.SessionEndpoint, in, reply)
	return reply, err
}

// SendReport posts in to the report endpoint.
func (c *Client) SendReport(ctx context.Context, in *ReportRequest) (*ReportReply, error) {
	reply := &ReportReply{}
	err := c.Send(ctx, c.ReportEndpoint, in, reply)
	return reply, err
}

// HTTPClient posts in as JSON to path and decodes the reply into out.
type HTTPClient interface {
	Send(context.Context, string, interface{}, interface{}) error
}

// BasicClient is the HTTPClient over net/http.
type BasicClient struct {
	Client    *http.Client
	URL       string
	UserAgent string
}

// StatusError is returned by BasicClient.Send for a non-2xx reply.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Message is the reply's "message" field, or the start of its body.
	Message string
	// RetryAfter is the reply's Retry-After, zero when absent.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("unexpected status code: %d", e.Code)
	}
	return fmt.Sprintf("unexpected status code: %d: %s", e.Code, e.Message)
}

// Send posts in to c.URL+path. A 2xx reply's body, at most MaxReplySize
// bytes, is decoded into out (an empty body leaves out untouched); any
// other status is a *StatusError. The request ends with ctx.
func (c *BasicClient) Send(ctx context.Context, path string, in, out interface{}) error {
	buf := new(bytes.Buffer)
	if err := json.NewEncoder(buf).Encode(in); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+path, buf)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxReplySize+1))
	if err != nil {
		return fmt.Errorf("usage: reading reply: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{
			Code:       resp.StatusCode,
			Message:    replyMessage(body),
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
		}
	}
	if len(body) > MaxReplySize {
		return ErrReplyTooLarge
	}
	if len(bytes.TrimSpace(body)) == 0 || out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("usage: decoding reply: %w", err)
	}
	return nil
}

// replyMessage extracts a short reason from an error reply.
func replyMessage(body []byte) string {
	var r ReportReply
	if json.Unmarshal(body, &r) == nil && r.Message != "" {
		return truncate(r.Message, 200)
	}
	return truncate(strings.TrimSpace(strings.ToValidUTF8(string(body), "?")), 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
