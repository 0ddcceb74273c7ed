package usage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

const (
	hashBits  uint = hashcash.DefaultBits
	saltChars uint = hashcash.DefaultSaltChars

	sessionEndpoint = "/session"
	reportEndpoint  = "/report"

	timeout     = 15 * time.Second
	reportLapse = 12 * time.Hour
)

// ReportExpiration is how far a report's Time may be from the receiver's
// clock before [UsageData.Expired] reports it as stale.
var ReportExpiration = 60 * time.Second

// Options configures a [Reporter]. Only ClusterID, ServerID and URL are
// required; every other zero value means the documented default.
type Options struct {
	// ClusterID identifies the cluster: every instance running the same
	// configuration should share it. It must not identify its owner: use a
	// random or derived UUID, never a hostname or a company name. 1 to
	// MaxIDLen printable ASCII characters without spaces ([ValidateID]).
	ClusterID string
	// ServerID identifies the instance, with the same privacy rule and
	// syntax.
	ServerID string
	// URL is the base URL of the collector (http or https). Required when
	// the reporter uses its own UsageClient (a nil one given to Report or New).
	URL string
	// Version of the application reporting: at most MaxVersionLen printable
	// ASCII characters, may be empty.
	Version string
	// Minter mints the proof of work. Nil means this package's fast minter
	// ([hashcash.Minter]) with HashBits and SaltChars.
	Minter Minter
	// ExtraPayload is sent with the first report and with every report
	// after it until one carrying it is acknowledged.
	ExtraPayload []byte
	// HashBits is the proof-of-work difficulty (default 20, at most
	// MaxHashBits). A collector may ask for more in its session reply, up to
	// MaxHashBits.
	HashBits uint
	// SaltChars is the length of the stamp's salt (default 40).
	SaltChars uint
	// SessionEndpoint is the path of the session endpoint (default /session).
	SessionEndpoint string
	// ReportEndpoint is the path of the report endpoint (default /report).
	ReportEndpoint string
	// Timeout bounds every request (default 15s).
	Timeout time.Duration
	// ReportLapse is the time between reports (default 12h). It also caps
	// every retry wait, a 429's Retry-After included.
	ReportLapse time.Duration
	// UserAgent is the User-Agent header of every request; empty means Go's.
	UserAgent string
	// Client is the HTTP client to use. Nil means a client of the reporter's
	// own, whose idle connections are closed when the reporter stops.
	Client *http.Client
	// Logger receives session, report and retry events (see the package
	// docs, "Logging"). Nil means silent. lura's logging.Logger satisfies it.
	Logger Logger
	// Started is when the reported program started: each report's uptime
	// counts from it. Zero means when the reporter starts. A reporter
	// running beside the program it reports on sets it to that program's
	// start time.
	Started time.Time
}

// Logger is the subset of lura's logging.Logger the reporter writes to.
type Logger interface {
	Debug(v ...interface{})
	Info(v ...interface{})
	Warning(v ...interface{})
	Error(v ...interface{})
}

// Minter mints the proof of work for a resource.
type Minter interface {
	Mint(string) (string, error)
}

// ContextMinter is a Minter whose work can be cancelled. The reporter uses
// MintContext when the Minter has it, so that stopping the reporter also
// stops a mint in progress.
type ContextMinter interface {
	Minter
	MintContext(ctx context.Context, resource string) (string, error)
}

// SessionRequest opens a session.
type SessionRequest struct {
	ClusterID string `json:"cluster_id"`
	ServerID  string `json:"server_id"`
}

// SessionReply carries the session token. Bits, optional, is the
// difficulty the collector requires; collectors that predate it omit it.
type SessionReply struct {
	Token string `json:"token"`
	Bits  uint   `json:"bits,omitempty"`
}

// ReportRequest is one report: the session token, the proof of work for
// Token + Data.Hash(), and the data.
type ReportRequest struct {
	Token string    `json:"token"`
	Pow   string    `json:"pow"`
	Data  UsageData `json:"data"`
}

// ReportReply is the collector's answer to a report.
type ReportReply struct {
	Status  int    `json:"status"`
	Message string `json:"message,omitempty"`
}

// UsageData is everything a report says about the instance. Nothing in it
// identifies a person, a host or an organisation: the IDs are opaque, the
// rest is the software version, platform, uptime in seconds and the Unix
// time of the report. Extra is an application-defined payload (in JSON it
// is base64, being []byte).
type UsageData struct {
	Version   string `json:"version"`
	Arch      string `json:"arch"`
	OS        string `json:"os"`
	ClusterID string `json:"cluster_id"`
	ServerID  string `json:"server_id"`
	Uptime    int64  `json:"uptime"`
	Time      int64  `json:"time"`
	Extra     []byte `json:"extra,omitempty"`
}

// Hash returns the URL-safe base64 SHA-256 of the data's JSON encoding (as
// written by json.Encoder, trailing newline included). The proof of work is
// minted for the session token followed by this hash.
func (u *UsageData) Hash() (string, error) {
	buf := new(bytes.Buffer)
	if err := json.NewEncoder(buf).Encode(u); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return base64.URLEncoding.EncodeToString(sum[:]), nil
}

// Expired reports whether the data is older than ReportExpiration.
func (u *UsageData) Expired() bool {
	return time.Since(time.Unix(u.Time, 0)) > ReportExpiration
}
