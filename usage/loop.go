package usage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Report sends a report now and then every ReportLapse until ctx is done.
// Failures are retried with backoff and logged once per streak (see the
// package docs, "Failure handling"). A panic anywhere in an attempt is
// logged and counted as a failed attempt; the loop goes on.
func (r *Reporter) Report(ctx context.Context) {
	r.init()
	defer r.closeIdle()
	var s streak
	var wait time.Duration
	if ctx.Err() != nil {
		return
	}
	if r.token() == "" && r.lastErr != nil {
		// The session opened by New or Report failed: retry it after a backoff.
		wait = retryDelay(r.lastErr, 0, r.ReportLapse, r.rand)
		s.failed(r.log, r.lastErr, wait)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait = r.attempt(ctx, &s)
		if ctx.Err() != nil {
			return
		}
		timer.Reset(wait)
	}
}

// attempt sends one report and returns how long to wait for the next.
func (r *Reporter) attempt(ctx context.Context, s *streak) (wait time.Duration) {
	defer func() {
		if p := recover(); p != nil {
			err := r.recovered("the report loop", p)
			// No jitter here: its source may be what panicked.
			wait = backoff(s.failures, r.ReportLapse, func() float64 { return 0.5 })
			s.failed(r.log, err, wait)
		}
	}()
	err := r.SingleReport(ctx)
	if ctx.Err() != nil {
		return 0
	}
	switch classify(err) {
	case accepted:
		wait = jitter(r.ReportLapse, 0.1, r.rand)
		s.reachable(r.log)
		r.log.Debug("Next report at " + at(wait))
	case refused:
		wait = jitter(r.ReportLapse, 0.1, r.rand)
		s.reachable(r.log)
		var se *StatusError
		errors.As(err, &se)
		msg := se.Message
		if msg == "" {
			msg = se.Error()
		}
		r.log.Warning(fmt.Sprintf("Report refused (%d): %s; next report at %s", se.Code, msg, at(wait)))
	default:
		wait = retryDelay(err, s.failures, r.ReportLapse, r.rand)
		s.failed(r.log, err, wait)
	}
	return wait
}

// streak tracks consecutive failed attempts, so that a collector that is
// down costs the host's log one WARNING, not one per retry.
type streak struct {
	failures int  // failed attempts in a row
	warned   bool // the WARNING for this streak is out
}

// failed logs a failed attempt: WARNING for the first (a recovered panic,
// already logged at ERROR, does not count as the collector being down),
// DEBUG for every further one.
func (s *streak) failed(log Logger, err error, wait time.Duration) {
	s.failures++
	var pe *panicError
	if !s.warned && !errors.As(err, &pe) {
		s.warned = true
		log.Warning(failureWarning(err))
		return
	}
	log.Debug(fmt.Sprintf("Attempt %d failed: %s; next attempt at %s", s.failures, logReason(err), at(wait)))
}

// failureWarning is the WARNING that starts a streak of failures: the
// collector is unreachable, or, for a 404 to the session request, the
// collector at the configured URL has no session endpoint at that path.
func failureWarning(err error) string {
	if oe, se, ok := sessionNotFound(err); ok {
		return oneLine(fmt.Sprintf("Collector at %s answered %s for the session path %s (tried %s): check the url and session_endpoint settings; retrying in the background",
			oe.url, strings.TrimPrefix(se.Error(), "collector answered "), oe.path, oe.url+oe.path), 2*maxReasonLen)
	}
	return fmt.Sprintf("Collector unreachable: %s; retrying in the background", logReason(err))
}

// reachable ends a streak: the collector answered.
func (s *streak) reachable(log Logger) {
	if s.warned {
		log.Info(fmt.Sprintf("Collector reachable again after %d failed %s", s.failures, plural(s.failures, "attempt")))
	}
	*s = streak{}
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

func at(d time.Duration) string {
	return time.Now().Add(d).UTC().Format(time.RFC3339)
}
