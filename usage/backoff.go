package usage

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

const (
	// firstRetry is the base delay after the first failure; with jitter the
	// first retry comes within 1.2s.
	firstRetry = time.Second
	// maxRetry caps the backoff (further capped by ReportLapse).
	maxRetry = 5 * time.Minute
	// maxRetryAfter bounds a parsed Retry-After, so that no header can
	// overflow a Duration. The reporter waits at most a ReportLapse anyway.
	maxRetryAfter = 24 * time.Hour
)

// backoff returns the delay before retry number n (0-based): firstRetry
// doubling per failure up to min(lapse, maxRetry), then ±20% jitter (at
// the cap too, so that a fleet waiting out an outage does not retry in
// step), never longer than the lapse. rnd returns a number in [0, 1); nil
// means math/rand/v2.
func backoff(n int, lapse time.Duration, rnd func() float64) time.Duration {
	limit := min(lapse, maxRetry)
	d := firstRetry
	for i := 0; i < n && d < limit; i++ {
		d *= 2
	}
	return min(jitter(min(d, limit), 0.2, rnd), lapse)
}

// jitter spreads d uniformly over ±frac, so a fleet started together does
// not report together.
func jitter(d time.Duration, frac float64, rnd func() float64) time.Duration {
	if rnd == nil {
		rnd = rand.Float64
	}
	return time.Duration(float64(d) * (1 - frac + 2*frac*rnd()))
}

// outcome sorts the result of one report attempt.
type outcome int

const (
	accepted outcome = iota
	// refused: the collector answered a report with a final 4xx. It is up;
	// sending the same again would fail the same way.
	refused
	// failed: a network error, timeout, 5xx, 429, failed session or
	// recovered panic. Retried with backoff.
	failed
)

func classify(err error) outcome {
	if err == nil {
		return accepted
	}
	var oe *opError
	var se *StatusError
	if errors.As(err, &oe) && oe.op == "report" && errors.As(err, &se) &&
		se.Code >= 400 && se.Code < 500 && se.Code != http.StatusTooManyRequests {
		return refused
	}
	return failed
}

// retryDelay is the wait after a failed attempt, the failures-th in a row
// (0-based): a 429's Retry-After, capped at the lapse so that no collector
// can silence a reporter for longer than one report interval, else backoff.
func retryDelay(err error, failures int, lapse time.Duration, rnd func() float64) time.Duration {
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusTooManyRequests && se.RetryAfter > 0 {
		return min(se.RetryAfter, lapse)
	}
	return backoff(failures, lapse, rnd)
}
