package store

import (
	"context"
	"runtime"
	"sync"
)

// MaxBatch bounds how many inserts a Batcher commits in one transaction.
const MaxBatch = 256

// Batcher turns concurrent Insert calls into group commits: one goroutine
// takes every insert waiting at that moment (up to MaxBatch), commits them
// in one transaction, then answers each caller. A report is acknowledged
// only after the transaction holding it committed, and the cost of a
// durable commit is shared by all the reports in it.
type Batcher struct {
	commit func(ctx context.Context, rs []*Report) []error

	mu     sync.RWMutex
	closed bool
	reqs   chan *pending
	done   chan struct{}
}

type pending struct {
	r   *Report
	err chan error
}

// NewBatcher starts the commit goroutine. commit stores rs in one
// transaction and returns one error per report (nil, ErrDuplicate, or the
// transaction's error for all of them).
func NewBatcher(commit func(ctx context.Context, rs []*Report) []error) *Batcher {
	b := &Batcher{commit: commit, reqs: make(chan *pending, MaxBatch), done: make(chan struct{})}
	go b.loop()
	return b
}

// Insert queues r and waits until its transaction is over. It waits even
// when ctx ends first, so that its answer always matches what is stored.
func (b *Batcher) Insert(ctx context.Context, r *Report) error {
	p := &pending{r: r, err: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrClosed
	}
	b.reqs <- p
	b.mu.RUnlock()
	return <-p.err
}

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
	defer close(b.done)
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
		rs = rs[:0]
		for _, q := range batch {
			rs = append(rs, q.r)
		}
		errs := b.commit(context.Background(), rs)
		for i, q := range batch {
			q.err <- errs[i]
		}
	}
}
