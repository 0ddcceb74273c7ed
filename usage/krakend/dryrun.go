package krakend

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/krakend-usage/krakend-usage/usage"
)

// dryRunToken stands in for the session token in a dry run.
const dryRunToken = "dry-run"

// dryRunClient is a usage.UsageClient that logs, at INFO, each request it
// would send, and sends nothing. The report still carries a real proof of
// work, minted by the library, so the line shows exactly what a collector
// would get; only its extra payload is shown as the JSON it encodes rather
// than as the base64 on the wire, so an operator can read it.
type dryRunClient struct {
	logger                  usage.Logger
	url                     string
	sessionPath, reportPath string
}

var _ usage.UsageClient = (*dryRunClient)(nil)

func (c *dryRunClient) NewSession(_ context.Context, in *usage.SessionRequest) (*usage.SessionReply, error) {
	c.log("Would open a session with "+c.url+c.sessionPath, in)
	return &usage.SessionReply{Token: dryRunToken}, nil
}

func (c *dryRunClient) SendReport(_ context.Context, in *usage.ReportRequest) (*usage.ReportReply, error) {
	c.log("Would send a report to "+c.url+c.reportPath, readableReport(in))
	return &usage.ReportReply{Status: 200}, nil
}

func (c *dryRunClient) log(what string, body interface{}) {
	b, err := json.Marshal(body)
	if err != nil {
		c.logger.Warning(fmt.Sprintf("%s (cannot show the request: %v)", what, err))
		return
	}
	c.logger.Info(fmt.Sprintf("%s: %s", what, b))
}

// shownReport is a usage.ReportRequest whose extra payload is shown as the
// JSON it holds. Its outer Extra field hides the embedded one.
type shownReport struct {
	Token string    `json:"token"`
	Pow   string    `json:"pow"`
	Data  shownData `json:"data"`
}

type shownData struct {
	usage.UsageData
	Extra json.RawMessage `json:"extra,omitempty"`
}

// readableReport returns in for the log; an extra payload that is not
// JSON (only a custom Options.ExtraPayload could be) stays as it is sent.
func readableReport(in *usage.ReportRequest) interface{} {
	if len(in.Data.Extra) == 0 || !json.Valid(in.Data.Extra) {
		return in
	}
	return shownReport{Token: in.Token, Pow: in.Pow, Data: shownData{UsageData: in.Data, Extra: in.Data.Extra}}
}

// dryRunLogger passes the library's lines through, except its INFO ones
// ("Session opened", "Report accepted"): in a dry run nothing was opened
// or accepted, and the client's "Would …" lines say what happened instead.
type dryRunLogger struct{ usage.Logger }

func (dryRunLogger) Info(...interface{}) {}

// FirstRequests returns the session request and the first report request
// that a reporter with cfg sends for inst, built by the reporter itself
// with a recording client: nothing is sent. The report carries the token
// "dry-run" in place of the collector's and a real proof of work over it;
// its extra payload is the one the first report carries. The IDs are the
// overrides of cfg or derived from inst, as [Start] derives them.
func FirstRequests(ctx context.Context, host Host, cfg Config, inst Instance) (*usage.SessionRequest, *usage.ReportRequest, error) {
	cfg = host.Defaults(cfg)
	inst = withHost(inst, host)
	cluster, server := ids(cfg, inst)
	rec := &recordingClient{}
	r, err := usage.New(options(cfg, inst, cluster, server), rec)
	if err != nil {
		return nil, nil, err
	}
	if err := r.SingleReport(ctx); err != nil {
		return nil, nil, err
	}
	return rec.session, rec.report, nil
}

// recordingClient keeps the requests a reporter makes and answers them as
// a collector that accepts everything would.
type recordingClient struct {
	session *usage.SessionRequest
	report  *usage.ReportRequest
}

func (c *recordingClient) NewSession(_ context.Context, in *usage.SessionRequest) (*usage.SessionReply, error) {
	cp := *in
	c.session = &cp
	return &usage.SessionReply{Token: dryRunToken}, nil
}

func (c *recordingClient) SendReport(_ context.Context, in *usage.ReportRequest) (*usage.ReportReply, error) {
	cp := *in
	c.report = &cp
	return &usage.ReportReply{Status: 200}, nil
}
