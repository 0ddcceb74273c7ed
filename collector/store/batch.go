package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// MaxBatch bounds how many inserts a Batcher commits in one transaction.
const MaxBatch = 256

// CommitTimeout bounds one transaction. A database that stalls (a table
// lock, a full disk, a lost network) fails the batch with an error once it
// passes, and the transaction is rolled back: the callers are answered, and
// what they are told matches what is stored.
const CommitTimeout = 10 * time.Second

// ErrBusy is returned by Insert, storing nothing, when the report could not
// be handed to the writer before the caller's context ended: the queue is
// full because the database is slower than the reports arriving.
var ErrBusy = errors.New("store: writer busy")

// Batcher turns concurrent Insert calls into group commits: one goroutine
// takes every insert waiting at that moment (up to MaxBatch), commits them
// in one transaction, then answers each caller. A report is acknowledged
// only after the transaction holding it committed, and the cost of a
// durable commit is shared by all the reports in it. NewBatcherN runs
// several such goroutines: while one waits for its commit, the next takes
// the queue and runs its transaction.
//
// When a batch's transaction fails for a reason other than a timeout, its
// reports are committed again one by one, so that one report the database
// refuses fails alone instead of taking its whole batch with it.
type Batcher struct {
	commit  func(ctx context.Context, rs []*Report) []error
	timeout time.Duration

	mu      sync.RWMutex
	closed  bool
	reqs    chan *pending
	done    chan struct{}
	writers sync.WaitGroup
}

type pending struct {
	ctx context.Context
	r   *Report
	err chan error
}

// NewBatcher starts the commit goroutine. commit stores rs in one
// transaction, within ctx, and returns one error per report (nil,
// ErrDuplicate, or the transaction's error for all of them).
func NewBatcher(commit func(ctx context.Context, rs []*Report) []error) *Batcher {
	return NewBatcherN(commit, 1)
}

// NewBatcherN is NewBatcher with writers commit goroutines, which call
// commit concurrently: only for a store whose concurrent transactions are
// safe and that has a connection for each.
func NewBatcherN(commit func(ctx context.Context, rs []*Report) []error, writers int) *Batcher {
	b := &Batcher{
		commit:  commit,
		timeout: CommitTimeout,
		reqs:    make(chan *pending, MaxBatch),
		done:    make(chan struct{}),
	}
	for range max(writers, 1) {
		b.writers.Add(1)
		go b.loop()
	}
	go func() {
		b.writers.Wait()
		close(b.done)
	}()
	return b
}

// Insert queues r and waits until its transaction is over. Queueing
// honours ctx: when ctx ends before the writer takes r (or while r still
// waits in the queue), Insert returns an error wrapping ErrBusy and r is
// not stored. Once r is in a transaction Insert waits for its outcome,
// which CommitTimeout bounds, so that its answer always matches what is
// stored.
func (b *Batcher) Insert(ctx context.Context, r *Report) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	p := &pending{ctx: ctx, r: r, err: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrClosed
	}
	select {
	case b.reqs <- p:
	case <-ctx.Done():
		b.mu.RUnlock()
		return fmt.Errorf("%w: queue full: %w", ErrBusy, ctx.Err())
	}
	b.mu.RUnlock()
	return <-p.err
}

// Queued returns how many inserts wait for the writer.
func (b *Batcher) Queued() int { return len(b.reqs) }

// Close commits what is queued and stops the goroutine.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.reqs)
	}
	b.mu.Unlock()
	<-b.done
}

func (b *Batcher) loop() {
	defer b.writers.Done()
	batch := make([]*pending, 0, MaxBatch)
	rs := make([]*Report, 0, MaxBatch)
	for p := range b.reqs {
		batch = append(batch[:0], p)
		// Let handlers that are about to queue a report do so first: one
		// yield per transaction roughly doubles the batch under load, and
		// the commit (an fsync) is shared by twice as many reports.
		runtime.Gosched()
	more:
		for len(batch) < MaxBatch {
			select {
			case q, ok := <-b.reqs:
				if !ok {
					break more
				}
				batch = append(batch, q)
			default:
				break more
			}
		}
		// A caller whose context ended while queued has been told nothing
		// yet and gives up now: its report is not stored.
		live := batch[:0]
		for _, q := range batch {
			if err := q.ctx.Err(); err != nil {
				q.err <- fmt.Errorf("%w: %w", ErrBusy, err)
				continue
			}
			live = append(live, q)
		}
		if len(live) == 0 {
			continue
		}
		rs = rs[:0]
		for _, q := range live {
			rs = append(rs, q.r)
		}
		errs := b.store(rs)
		for i, q := range live {
			q.err <- errs[i]
		}
	}
}

// store commits rs, then isolates the failures of a failed batch.
func (b *Batcher) store(rs []*Report) []error {
	errs, stalled := b.commitWithin(rs)
	if len(rs) == 1 || stalled {
		// A timeout says the database is stuck, not that a report is
		// bad: trying each report again would only hold every caller for
		// another CommitTimeout apiece.
		return errs
	}
	for i, err := range errs {
		if err == nil || errors.Is(err, ErrDuplicate) {
			continue
		}
		one, stalled := b.commitWithin(rs[i : i+1])
		errs[i] = one[0]
		if stalled {
			break
		}
	}
	return errs
}

// commitWithin runs one transaction bounded by b.timeout and says whether
// the bound was hit.
func (b *Batcher) commitWithin(rs []*Report) ([]error, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	errs := b.commit(ctx, rs)
	return errs, ctx.Err() != nil
}
