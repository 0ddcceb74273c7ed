package collector

import "github.com/krakend-usage/krakend-usage/collector/internal/httpx"

// Rejection reasons, the label values of
// usage_collector_reports_rejected_total.
const (
	reasonMethod       = httpx.ReasonMethod
	reasonContentType  = "content_type"
	reasonTooLarge     = "too_large"
	reasonBusy         = "busy"
	reasonClientBusy   = "client_busy"
	reasonSlowBody     = "slow_body"
	reasonBadJSON      = "bad_json"
	reasonBadField     = "bad_field"
	reasonBadToken     = "bad_token"
	reasonExpiredToken = "expired_token"
	reasonIDMismatch   = "id_mismatch"
	reasonStale        = "stale"
	reasonMalformed    = "stamp_malformed"
	reasonVersion      = "stamp_version"
	reasonWeak         = "stamp_weak"
	reasonDate         = "stamp_date"
	reasonResource     = "stamp_resource"
	reasonInsufficient = "stamp_insufficient"
	reasonStore        = "store_error"
)

var rejectReasons = []string{
	reasonMethod, reasonContentType, reasonTooLarge, reasonBusy, reasonClientBusy, reasonSlowBody, reasonBadJSON, reasonBadField,
	reasonBadToken, reasonExpiredToken, reasonIDMismatch, reasonStale, reasonMalformed, reasonVersion,
	reasonWeak, reasonDate, reasonResource, reasonInsufficient, reasonStore,
}
