package ui

import (
	"fmt"
	"testing"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// TestChartPolish: a chart of one version still names it; at 90 days
// (14 weeks) the week before "this week" is not labelled over it.
func TestChartPolish(t *testing.T) {
	st := &store.Stats{}
	for i := range store.Weeks {
		st.VersionsWeekly = append(st.VersionsWeekly, store.WeekVersions{Week: fmt.Sprintf("2026-W%02d", 30+i),
			Versions: []store.Count{{Value: "2.13.2", Servers: 3}}})
	}
	if d := dashboardCharts(st); len(d.Weekly.Legend) != 1 || d.Weekly.Legend[0].Name != "2.13.2" {
		t.Errorf("one version: legend %+v, want 2.13.2", d.Weekly.Legend)
	}
	var labels []string
	for i := range 14 {
		labels = append(labels, fmt.Sprintf("W%02d", 36+i))
	}
	c := newColumns("growth", "", labels, []series{{Name: "x", Values: make([]int64, 14)}}, nil, halfWidth, "this week")
	for _, l := range c.Labels {
		if l.Label == "W48" {
			t.Errorf("labels %+v: W48 is drawn next to this week", c.Labels)
		}
	}
	if last := c.Labels[len(c.Labels)-1]; last.Label != "this week" {
		t.Errorf("last label %q, want this week", last.Label)
	}
}
