// Package store defines what the collector keeps and the interface its
// storage backends implement. The backends live in subpackages: sqlite
// (the embedded default) and postgres (for several collectors sharing one
// database). Both pass the shared suite in storetest.
//
// # Privacy
//
// A [Report] holds exactly what the reporter sent plus the time the
// collector received it. The client's IP address is never part of it, so no
// backend can store it.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors a caller must branch on.
var (
	// ErrDuplicate is returned by Insert for a report whose stamp is
	// already stored: the proof of work was replayed.
	ErrDuplicate = errors.New("store: stamp already used")
	// ErrClosed is returned by a store after Close.
	ErrClosed = errors.New("store: closed")
)

// Report is one accepted report, as stored.
type Report struct {
	Received   time.Time // when the collector received it (UTC)
	ClusterID  string
	ServerID   string
	Version    string
	OS         string
	Arch       string
	Uptime     int64     // seconds, as reported
	ReportTime time.Time // the report's own time
	Extra      []byte    // the application payload, verbatim (nil when omitted)
	// ExtraOmitted is set when the reporter sent an Extra larger than
	// usage.MaxStoredExtra: the report counts, its payload is not kept.
	ExtraOmitted bool
	Stamp        string // the hashcash stamp; unique across all reports
}

// Store keeps reports and answers statistics. Implementations are safe for
// concurrent use, by several goroutines and by several collector processes
// sharing the same database.
type Store interface {
	// Insert stores r durably: when it returns nil the report is committed.
	// It returns ErrDuplicate, storing nothing, when r.Stamp is already
	// stored.
	Insert(ctx context.Context, r *Report) error
	// Stats summarises the stored reports as seen at now.
	Stats(ctx context.Context, now time.Time) (*Stats, error)
	// Recent returns the n most recently stored reports, newest first.
	Recent(ctx context.Context, n int) ([]Report, error)
	// Secret returns the token-signing key stored in the database. The
	// first caller ever stores newKey; every later call, from any process,
	// returns that same key.
	Secret(ctx context.Context, newKey []byte) ([]byte, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close waits for pending inserts and releases the database.
	Close() error
}
