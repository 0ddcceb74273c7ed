package krakendusage

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/krakend-usage/krakend-usage/usage"
)

// dryRunToken stands in for the session token in a dry run.
const dryRunToken = "dry-run"

// dryRunClient is a usage.UsageClient that logs each request body exactly
// as it would be sent, and sends nothing.
type dryRunClient struct {
	logger                  usage.Logger
	url                     string
	sessionPath, reportPath string
}

var _ usage.UsageClient = (*dryRunClient)(nil)

func (c *dryRunClient) NewSession(_ context.Context, in *usage.SessionRequest) (*usage.SessionReply, error) {
	c.log(c.sessionPath, in)
	return &usage.SessionReply{Token: dryRunToken}, nil
}

func (c *dryRunClient) SendReport(_ context.Context, in *usage.ReportRequest) (*usage.ReportReply, error) {
	c.log(c.reportPath, in)
	return &usage.ReportReply{Status: 200}, nil
}

func (c *dryRunClient) log(path string, body interface{}) {
	b, err := json.Marshal(body)
	if err != nil {
		c.logger.Warning("cannot encode request:", err)
		return
	}
	c.logger.Info(fmt.Sprintf("would POST %s%s %s", c.url, path, b))
}
