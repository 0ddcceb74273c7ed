package usage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

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
