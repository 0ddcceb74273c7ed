package usage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/krakend-usage/krakend-usage/usage"
)

// A minimal collector and one report. A real program calls usage.Report
// once at start-up and lets it run until its context ends.
func Example() {
	reports := make(chan usage.ReportRequest, 1)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/session":
			fmt.Fprint(w, `{"token":"t0k3n"}`)
		case "/report":
			var rr usage.ReportRequest
			json.NewDecoder(r.Body).Decode(&rr)
			fmt.Fprint(w, `{"status":200}`)
			select {
			case reports <- rr:
			default:
			}
		}
	}))
	defer collector.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := usage.Report(ctx, usage.Options{
		ClusterID:    "8f0e6a52-1d2c-4bb5-9a7e-3f1c2d4e5a6b",
		ServerID:     "2b7d9c1e-4f3a-4e8b-a1c2-9d8e7f6a5b4c",
		URL:          collector.URL,
		Version:      "v2.14.1",
		ExtraPayload: []byte(`{"endpoints":12}`),
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rr := <-reports
	fmt.Println(rr.Data.ClusterID, rr.Data.Version, string(rr.Data.Extra), rr.Pow[:5])
	// Output: 8f0e6a52-1d2c-4bb5-9a7e-3f1c2d4e5a6b v2.14.1 {"endpoints":12} 1:20:
}

// stdoutLogger prints the reporter's events with their level, leaving out
// the debug ones. In a real program it would write to the program's log
// (log.Printf, slog); lura's logging.Logger fits Options.Logger as it is.
type stdoutLogger struct {
	url   string // the example's collector URL, which changes each run
	lines chan string
}

var uptime = regexp.MustCompile(`uptime [0-9]+s`)

func (l stdoutLogger) print(level string, v ...interface{}) {
	line := strings.ReplaceAll(fmt.Sprint(v...), l.url, "http://collector.example")
	l.lines <- level + " " + uptime.ReplaceAllString(line, "uptime Ns")
}

func (l stdoutLogger) Debug(v ...interface{})   {}
func (l stdoutLogger) Info(v ...interface{})    { l.print("INFO", v...) }
func (l stdoutLogger) Warning(v ...interface{}) { l.print("WARNING", v...) }
func (l stdoutLogger) Error(v ...interface{})   { l.print("ERROR", v...) }

// A program that is not a gateway reports with a logger: every session,
// report and failure is one line of its log.
func ExampleReport_logger() {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/session":
			fmt.Fprint(w, `{"token":"t0k3n"}`)
		case "/report":
			fmt.Fprint(w, `{"status":200}`)
		}
	}))
	defer collector.Close()

	logger := stdoutLogger{url: collector.URL, lines: make(chan string, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := usage.Report(ctx, usage.Options{
		ClusterID: "8f0e6a52-1d2c-4bb5-9a7e-3f1c2d4e5a6b",
		ServerID:  "2b7d9c1e-4f3a-4e8b-a1c2-9d8e7f6a5b4c",
		URL:       collector.URL,
		Version:   "v1.2.3",
		Logger:    logger,
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for line := range logger.lines {
		fmt.Println(line)
		if strings.HasPrefix(line, "INFO Report accepted") {
			break
		}
	}
	// Output:
	// INFO Session opened with http://collector.example (proof of work: 20 bits)
	// INFO Report accepted (uptime Ns, extra payload: false)
}
