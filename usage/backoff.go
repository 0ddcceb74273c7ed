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
	// maxRetryAfter caps how long a 429's Retry-After can silence a reporter.
	maxRetryAfter = 24 * time.Hour
)

// backoff returns the delay before retry number n (0-based): firstRetry
// doubling per failure, capped at min(lapse, maxRetry), ±20% jitter.
func backoff(n int, lapse time.Duration) time.Duration {
	limit := min(lapse, maxRetry)
	d := firstRetry
	for i := 0; i < n && d < limit; i++ {
		d *= 2
	}
	return min(jitter(d, 0.2), limit)
}

// jitter spreads d uniformly over ±frac, so a fleet started together does
// not report together.
func jitter(d time.Duration, frac float64) time.Duration {
	return time.Duration(float64(d) * (1 - frac + 2*frac*rand.Float64()))
}

// nextDelay decides when to try again after a report attempt: the lapse
// after success or a final 4xx, Retry-After after a 429, backoff otherwise.
// It also says whether the failure counts towards the backoff.
func nextDelay(err error, failures int, lapse time.Duration) (time.Duration, bool) {
	if err == nil {
		return jitter(lapse, 0.1), false
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch {
		case se.Code == http.StatusTooManyRequests && se.RetryAfter > 0:
			return min(se.RetryAfter, maxRetryAfter), true
		case se.Code == http.StatusTooManyRequests, se.Code >= 500:
			return backoff(failures, lapse), true
		case se.Code >= 400:
			// Final for this report: sending the same again would fail the same way.
			return jitter(lapse, 0.1), false
		}
	}
	return backoff(failures, lapse), true
}
