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
