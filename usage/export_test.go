package usage

import (
	"context"
	"time"
)

// The internals that the tests of package usage_test reach: those tests
// use usagetest, which imports this package.

var (
	Backoff         = backoff
	LogReason       = logReason
	MaxRetry        = maxRetry
	MaxReasonLen    = maxReasonLen
	DefaultHashBits = hashBits
)

// NewOpError returns the error of operation op failing with err.
func NewOpError(op string, err error) error { return &opError{op: op, err: err} }

// NewPanicError returns the error of a panic with value in where.
func NewPanicError(where string, value interface{}) error {
	return &panicError{where: where, value: value}
}

// NewIdleReporter returns a reporter that has not opened a session yet,
// its backoff jitter pinned by rand.
func NewIdleReporter(opt Options, rand func() float64) (*Reporter, error) {
	r, err := newReporter(opt, nil)
	if err != nil {
		return nil, err
	}
	r.rand = rand
	return r, nil
}

// Run runs the report loop until ctx ends.
func (r *Reporter) Run(ctx context.Context) { r.run(ctx) }

// Bits returns the difficulty the reporter mints at.
func (r *Reporter) Bits() uint { return r.bits }

// SetRand sets the reporter's jitter source.
func (r *Reporter) SetRand(f func() float64) { r.rand = f }

// StillFresh reports whether the collector would still take p at now.
func (r *Reporter) StillFresh(p *ReportRequest, now time.Time) bool { return r.stillFresh(p, now) }

// PanicError is the error of a recovered panic.
type PanicError = panicError
