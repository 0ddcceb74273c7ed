package usagetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// A test of a program that reports: the program's reporter sends to the
// collector, and the test checks what arrived.
func ExampleCollector() {
	t := &testing.T{} // in a test, the test's own *testing.T
	c := usagetest.NewCollector(t, 8)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := usage.Report(ctx, usage.Options{
		ClusterID: "8f0e6a52-1d2c-4bb5-9a7e-3f1c2d4e5a6b",
		ServerID:  "2b7d9c1e-4f3a-4e8b-a1c2-9d8e7f6a5b4c",
		URL:       c.URL,
		Version:   "v1.2.3",
		HashBits:  c.Bits,
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := c.WaitReports(t, 1, 30*time.Second)[0]
	fmt.Println(r.Accepted, r.Data.Version, len(c.Sessions()))
	// Output: true v1.2.3 1
}

// A Log as the reporter's logger: the test reads what it logged.
func ExampleLog() {
	var log usagetest.Log
	log.Info("Report accepted (uptime", 0, "s)")
	log.Warning("Collector unreachable")
	fmt.Println(log.Lines())
	// Output: [INFO: Report accepted (uptime 0 s) WARNING: Collector unreachable]
}
