// Package usage is an anonymous software usage reporter with proof of work,
// a drop-in replacement for github.com/krakend/krakend-usage/v2: same API,
// same wire format, with the sharp edges fixed.
//
// # Reporting
//
// A program calls [Report] once; a goroutine opens a session with the
// collector and then sends a [UsageData] report at once and every
// [Options.ReportLapse]:
//
//	err := usage.Report(ctx, usage.Options{
//		ClusterID: clusterUUID,
//		ServerID:  serverUUID,
//		URL:       "https://usage.example.com",
//		Version:   "v1.2.3",
//	}, nil)
//
// The third argument is the [UsageClient] that talks to the collector. Nil,
// as here, means the package's own: JSON over HTTP to Options.URL (which is
// then required), through Options.Client or a client of its own, with
// Options.UserAgent, SessionEndpoint and ReportEndpoint. Pass a UsageClient
// only to replace the transport; Options.URL then only names the collector
// in the log. [New] takes the same argument.
//
// Report returns an error only for invalid options (an [*OptionError]
// naming the field; ClusterID, ServerID and Version follow the same rules
// as a collector's, see [ValidateID] and [UsageData.Validate], so the
// reporter never sends what a collector would refuse). Everything after
// that happens in the background until ctx is done.
//
// # Wire protocol
//
//	POST {URL}{SessionEndpoint}  {"cluster_id":..,"server_id":..}  -> {"token":..}
//	POST {URL}{ReportEndpoint}   {"token":..,"pow":..,"data":{..}}  -> {"status":200}
//
// The proof of work is a hashcash v1 stamp (see package hashcash) for the
// resource Token + [UsageData.Hash]. A collector may add "bits" to its
// session reply to ask for more work; the reporter honours it up to
// [MaxHashBits].
//
// # Failure handling
//
//   - A failed session (whatever the error: a wrong URL's 404 too) or a
//     failed report (network error, timeout, 5xx, 429 without Retry-After)
//     is retried after 1s, doubling up to min(ReportLapse, 5m), with ±20%
//     jitter. A 429 with Retry-After waits that long, but at most one
//     ReportLapse.
//   - A retry after a timeout, network error, 5xx or 429 re-sends the
//     identical request (same token, stamp and data) while the data is still
//     fresh (its Time within [ReportExpiration] of now, less the request's
//     Timeout but at most half of it, and its stamp dated within a day of
//     today): a collector that stored a
//     report whose answer was lost sees the same report again, not a second
//     one. Once it would be stale, the retry is a fresh report.
//   - A 401 or 403 opens a new session at once and reports again.
//   - Any other 4xx is final for that report; the next one comes a lapse later.
//   - ExtraPayload rides along until a report carrying it is acknowledged.
//   - Replies are read up to [MaxReplySize]; every request is bounded by
//     Options.Timeout; cancelling the context stops requests and minting.
//   - The reporter never takes down its host: a panic in the UsageClient,
//     the Minter or the Logger, or in any goroutine the package starts, is
//     recovered and logged, and counts as one failed attempt. New returns it
//     as an error.
//
// # Logging
//
// Outcomes go to [Options.Logger] (lura's logging.Logger fits) as plain,
// capitalised messages; the gateway adds its own tag in front. A collector
// that is down costs one line per outage, not one per retry:
//
//	INFO     Session opened with <URL> (proof of work: N bits)
//	INFO     Report accepted (uptime Ns, extra payload: true|false)
//	DEBUG    Next report at <time>
//	WARNING  Collector unreachable: <reason>; retrying in the background  (first failure)
//	WARNING  Collector at <URL> answered 404 … for the session path <path> (tried <URL><path>): check the url and session_endpoint settings; retrying in the background  (first failure, when that is why)
//	DEBUG    Attempt N failed: <reason>; next attempt at <time>            (each further one)
//	INFO     Collector reachable again after N failed attempts
//	INFO     Report refused (401|403): opening a new session
//	WARNING  Report refused (<code>): <message>; next report at <time>
//	ERROR    Recovered from panic in <where>: <value>
//
// A reason is always one short line: an error reply that is not the
// collector's JSON, such as an HTML page from a wrong URL, reads
// "collector answered 404 Not Found (text/html)" (see [StatusError]).
package usage
