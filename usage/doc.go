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
// Report returns an error only for invalid options. Everything after that
// happens in the background until ctx is done.
//
// # Wire protocol
//
//	POST {URL}{SessionEndpoint}  {"cluster_id":..,"server_id":..}  -> {"token":..}
//	POST {URL}{ReportEndpoint}   {"token":..,"pow":..,"data":{..}}  -> {"status":200}
//
// The proof of work is a hashcash v1 stamp (see package hashcash) for the
// resource Token + [UsageData.Hash]. A collector may add "bits" to its
// session reply to ask for more work; the reporter honours it up to 28 bits.
//
// # Failure handling
//
//   - A failed session or report (network error, 5xx, 429 without
//     Retry-After) is retried after 1s, doubling, capped at
//     min(ReportLapse, 5m), with ±20% jitter. A 429 with Retry-After waits
//     that long.
//   - A 401 or 403 opens a new session at once and reports again.
//   - Any other 4xx is final for that report; the next one comes a lapse later.
//   - ExtraPayload rides along until a report carrying it is acknowledged.
//   - Replies are read up to [MaxReplySize]; every request is bounded by
//     Options.Timeout; cancelling the context stops requests and minting.
//
// Outcomes go to [Options.Logger] when one is set.
package usage
