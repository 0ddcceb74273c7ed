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
	// ErrNotFound is returned by Cluster for an unknown cluster ID.
	ErrNotFound = errors.New("store: not found")
	// ErrSchema is returned by a backend's Open for a database written
	// by an older collector whose tables this one cannot use.
	ErrSchema = errors.New("store: database schema from an older collector")
	// ErrCursor is returned by Clusters for an after cursor it did not make.
	ErrCursor = errors.New("store: invalid cursor")
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
	// Payload is Extra parsed for the rollups (see ParsePayload). The
	// handler fills it before queueing the report, so the single writer
	// never parses JSON; Insert parses it when nil.
	Payload *Payload
}

// Store keeps reports and answers statistics. Implementations are safe for
// concurrent use, by several goroutines and by several collector processes
// sharing the same database.
type Store interface {
	// Insert stores r durably: when it returns nil the report is committed.
	// It returns ErrDuplicate, storing nothing, when r.Stamp is already
	// stored. A report from a server new to an existing cluster counts
	// (as activity, and in the cluster's size) but does not replace the
	// cluster's version or payload until that server is established in
	// the cluster: until its first report on a later UTC day than one it
	// sent in that cluster. The exception is a cluster silent for more
	// than PublicDays days, which such a report takes over as if it were
	// new (its first_seen starts again), since no public figure counts
	// it any more.
	Insert(ctx context.Context, r *Report) error
	// Stats summarises the fleet as seen at now over the last
	// DefaultDays days. It reads rollups only.
	Stats(ctx context.Context, now time.Time) (*Stats, error)
	// StatsRange is Stats over the last days days, MinDays to MaxDays.
	StatsRange(ctx context.Context, now time.Time, days int) (*Stats, error)
	// Clusters lists clusters by last report, newest first, limit at a
	// time: after is the previous page's Next ("" for the first page).
	Clusters(ctx context.Context, now time.Time, after string, limit int) (*ClusterPage, error)
	// Cluster returns one cluster and up to limit of its servers, newest
	// first, or ErrNotFound.
	Cluster(ctx context.Context, now time.Time, id string, limit int) (*ClusterDetail, error)
	// Prune deletes the raw reports received before cutoff, a small batch
	// per transaction so inserts go on meanwhile, and the replay and
	// distinct-count markers no longer needed at now. It returns how many
	// reports it deleted. No answer of Stats or Clusters changes.
	Prune(ctx context.Context, now, cutoff time.Time) (int64, error)
	// Export calls fn with each stored report received on the UTC day
	// day (a DayKey), in the order they were stored, a page at a time
	// (at most a few hundred reports or about 1 MiB): memory stays
	// bounded whatever the day holds, and no read transaction or
	// connection is held while fn runs, however long it takes. It stops
	// at the first error of fn and returns it. Reports already pruned by
	// retention are gone.
	Export(ctx context.Context, day int64, fn func(*Report) error) error
	// ClusterStates calls fn with the latest state of every cluster whose
	// latest report is at or after since, in no particular order (the
	// public figures: see PublicFigures). It stops at fn's first error.
	ClusterStates(ctx context.Context, since time.Time, fn func(ClusterState) error) error
	// DailySnapshot returns the bytes stored for name and day (a DayKey),
	// first storing what compute returns when there are none: every
	// caller, from any collector on the same database, then gets the
	// bytes of the first. Storing a day's drops the older days' of name.
	DailySnapshot(ctx context.Context, name string, day int64, compute func(context.Context) ([]byte, error)) ([]byte, error)
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
