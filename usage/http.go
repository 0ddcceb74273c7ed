package usage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
	// Message is the reply's "message" field, or its body when that is one
	// short line of plain text. Anything else (an HTML error page from a
	// wrong URL, say) is not kept: ContentType says what it was.
	Message string
	// RetryAfter is the reply's Retry-After, zero when absent.
	RetryAfter time.Duration
	// ContentType is the media type of a non-empty body that Message does
	// not carry, e.g. "text/html".
	ContentType string
}

// Error is one short line, whatever the collector sent: for example
// "collector answered 404 Not Found (text/html)".
func (e *StatusError) Error() string {
	s := fmt.Sprintf("collector answered %d %s", e.Code, http.StatusText(e.Code))
	s = strings.TrimSpace(s)
	switch {
	case e.Message != "":
		return s + ": " + e.Message
	case e.ContentType != "":
		return s + " (" + e.ContentType + ")"
	}
	return s
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
		return statusError(resp, body)
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

// statusError summarises a non-2xx reply in one short line: its JSON
// "message", or a one-line plain-text body, else only its media type.
func statusError(resp *http.Response, body []byte) *StatusError {
	se := &StatusError{
		Code:       resp.StatusCode,
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	var r ReportReply
	text := bytes.TrimSpace(body)
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case len(text) == 0:
	case json.Unmarshal(body, &r) == nil && r.Message != "":
		se.Message = oneLine(r.Message, maxReasonLen)
	case (mt == "" || mt == "text/plain") && plainLine(text):
		se.Message = string(text)
	default:
		se.ContentType = cut(mt, 64) // a header can be long too
		if mt == "" {
			se.ContentType = "unknown content type"
		}
	}
	return se
}

// plainLine reports whether b reads as a short human message: one line of
// printable UTF-8 text, not markup.
func plainLine(b []byte) bool {
	if len(b) > maxReasonLen || !utf8.Valid(b) || b[0] == '<' {
		return false
	}
	for _, r := range string(b) {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
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
