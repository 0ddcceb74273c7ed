package collector

import (
	"fmt"
	"strconv"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// Charts are drawn on the server as SVG: no chart library, nothing fetched
// by the browser, and the dashboard works offline and without JavaScript.

// barChart is a horizontal bar chart of a breakdown.
type barChart struct {
	ID, Title     string
	Width, Height int
	Bars          []hbar
	Empty         bool
}

type hbar struct {
	Label, Value string
	Y, W         int // bar top and width in pixels
}

const (
	hbarRow    = 24
	hbarLabel  = 140
	hbarWidth  = 300
	hbarMaxRow = 10
)

func newBarChart(id, title string, counts []store.Count) barChart {
	c := barChart{ID: id, Title: title, Width: hbarLabel + hbarWidth + 70}
	rows := counts
	var other int64
	if len(rows) > hbarMaxRow {
		for _, x := range rows[hbarMaxRow-1:] {
			other += x.Servers
		}
		rows = append(rows[:hbarMaxRow-1:hbarMaxRow-1], store.Count{Value: "other", Servers: other})
	}
	var top int64 = 1
	for _, x := range rows {
		top = max(top, x.Servers)
	}
	for i, x := range rows {
		label := x.Value
		if label == "" {
			label = "(none)"
		}
		if len(label) > 20 {
			label = label[:19] + "…"
		}
		c.Bars = append(c.Bars, hbar{
			Label: label,
			Value: strconv.FormatInt(x.Servers, 10),
			Y:     i * hbarRow,
			W:     max(1, int(float64(x.Servers)/float64(top)*hbarWidth)),
		})
	}
	c.Empty = len(c.Bars) == 0
	c.Height = max(1, len(c.Bars)) * hbarRow
	return c
}

// columnChart is a vertical bar chart over categories (days, buckets),
// optionally with a line for a second series.
type columnChart struct {
	ID, Title     string
	Width, Height int
	PlotH         int
	Cols          []column
	Line          string // SVG polyline points, empty for none
	LineName      string
	BarName       string
	Ticks         []tick
	Left          int
}

type column struct {
	X, Y, W, H  int
	Label       string // x-axis label, empty to skip
	LabelX      int
	Value, Tip  string
	LineY, Line int64
}

type tick struct {
	Y     int
	Label string
}

// newColumnChart draws bars (values) and, when line is not nil, a line
// for the second series on the same scale.
func newColumnChart(id, title, barName string, labels []string, values []int64, lineName string, line []int64, colW, labelEvery int) columnChart {
	const left, plotH, gap = 44, 180, 4
	c := columnChart{ID: id, Title: title, BarName: barName, LineName: lineName, PlotH: plotH, Left: left}
	c.Width = left + len(values)*(colW+gap) + 10
	c.Height = plotH + 40
	var top int64 = 1
	for i, v := range values {
		top = max(top, v)
		if line != nil {
			top = max(top, line[i])
		}
	}
	scale := func(v int64) int { return int(float64(v) / float64(top) * plotH) }
	for i, v := range values {
		x := left + i*(colW+gap)
		col := column{X: x, W: colW, H: scale(v), Value: strconv.FormatInt(v, 10)}
		col.Y = plotH - col.H
		col.Tip = fmt.Sprintf("%s: %d %s", labels[i], v, barName)
		if line != nil {
			col.Tip += fmt.Sprintf(", %d %s", line[i], lineName)
			c.Line += fmt.Sprintf("%d,%d ", x+colW/2, plotH-scale(line[i]))
		}
		if labelEvery > 0 && i%labelEvery == 0 {
			col.Label, col.LabelX = labels[i], x+colW/2
		}
		c.Cols = append(c.Cols, col)
	}
	for _, f := range []int64{0, 2, 4} {
		v := top * f / 4
		c.Ticks = append(c.Ticks, tick{Y: plotH - scale(v), Label: strconv.FormatInt(v, 10)})
	}
	return c
}

// dashboardCharts are the charts of the dashboard, in page order.
func dashboardCharts(st *store.Stats) (columnChart, columnChart, barChart, barChart, columnChart) {
	var labels []string
	var servers, clusters, reports []int64
	for _, d := range st.Days {
		labels = append(labels, d.Date[5:])
		servers = append(servers, d.Servers)
		clusters = append(clusters, d.Clusters)
		reports = append(reports, d.Reports)
	}
	active := newColumnChart("active", "Active servers per day", "servers", labels, servers, "clusters", clusters, 18, 5)
	perDay := newColumnChart("reports", "Reports per day", "reports", labels, reports, "", nil, 18, 5)
	versions := newBarChart("versions", "Versions (servers)", st.Versions)
	osArch := newBarChart("os-arch", "OS / architecture (servers)", st.OSArch)
	var bl []string
	var bv []int64
	for _, b := range st.Endpoints {
		bl = append(bl, b.Label)
		bv = append(bv, b.Servers)
	}
	endpoints := newColumnChart("endpoints", "Endpoints per gateway (servers)", "servers", bl, bv, "", nil, 58, 1)
	return active, perDay, versions, osArch, endpoints
}
