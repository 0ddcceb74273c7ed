package ui

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// Charts are drawn on the server as SVG: no chart library, nothing fetched
// by the browser, and the dashboard works offline and without JavaScript.

// barChart is a horizontal bar chart of a breakdown.
type barChart struct {
	ID, Title, Note string
	Width, Height   int
	Bars            []hbar
	Empty           bool
}

type hbar struct {
	Label, Value, Tip string
	Y, W              int // bar top and width in pixels
}

const (
	hbarRow    = 24
	hbarLabel  = 200 // room for telemetry/opentelemetry and qos/ratelimit/service
	hbarWidth  = 260
	hbarMaxRow = 12
	maxLabel   = 28 // characters, not bytes
)

// cut shortens s to n characters, never splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// plural is "1 server", "2 servers".
func plural(n int64, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + one + "s"
}

func layoutBars(c *barChart, top int64, values []int64) {
	top = max(top, 1)
	for i := range c.Bars {
		c.Bars[i].Y = i * hbarRow
		c.Bars[i].W = max(1, int(float64(values[i])/float64(top)*hbarWidth))
	}
	c.Width = hbarLabel + hbarWidth + 110
	c.Empty = len(c.Bars) == 0
	c.Height = max(1, len(c.Bars)) * hbarRow
}

// newBarChart draws servers per value, the largest hbarMaxRow-1 values
// and the rest as "other".
func newBarChart(id, title string, counts []store.Count) barChart {
	c := barChart{ID: id, Title: title}
	rows := counts
	if len(rows) > hbarMaxRow {
		var other int64
		for _, x := range rows[hbarMaxRow-1:] {
			other += x.Servers
		}
		rows = append(rows[:hbarMaxRow-1:hbarMaxRow-1], store.Count{Value: store.Other, Servers: other})
	}
	var top int64
	var values []int64
	for _, x := range rows {
		label := x.Value
		if label == "" {
			label = "(none)"
		}
		top = max(top, x.Servers)
		values = append(values, x.Servers)
		c.Bars = append(c.Bars, hbar{Label: cut(label, maxLabel), Value: strconv.FormatInt(x.Servers, 10),
			Tip: label + ": " + plural(x.Servers, "server")})
	}
	layoutBars(&c, top, values)
	return c
}

// newShareChart draws the percentage of the total (active clusters) using
// each feature, the largest first.
func newShareChart(id, title string, fs []store.Feature, total int64) barChart {
	c := barChart{ID: id, Title: title}
	rows := fs
	if len(rows) > 2*hbarMaxRow {
		c.Note = fmt.Sprintf("%d more in /api/stats", len(rows)-2*hbarMaxRow)
		rows = rows[:2*hbarMaxRow]
	}
	var values []int64
	for _, f := range rows {
		pct := 0.0
		if total > 0 {
			pct = float64(f.Clusters) / float64(total) * 100
		}
		values = append(values, f.Clusters)
		c.Bars = append(c.Bars, hbar{Label: cut(f.Value, maxLabel), Value: fmt.Sprintf("%.0f%% · %d", pct, f.Clusters),
			Tip: fmt.Sprintf("%s: %s of %s (%.1f%%), %s", f.Value, plural(f.Clusters, "cluster"), plural(total, "active cluster"), pct, plural(f.Servers, "server"))})
	}
	layoutBars(&c, total, values)
	return c
}

// columnChart is a vertical bar chart over categories (days, weeks,
// buckets): stacked series as bars, optional lines on the same scale.
type columnChart struct {
	ID, Title     string
	Width, Height int
	PlotH, Left   int
	Cols          []column
	Lines         []polyline
	Ticks         []tick
	Labels        []xlabel
	Legend        []legend
}

type column struct {
	Tip  string
	Segs []seg
}

type seg struct {
	X, Y, W, H string
	Class      string
}

type polyline struct{ Points, Class string }

type xlabel struct {
	X     string
	Label string
}

type legend struct{ Name, Class string }

type tick struct {
	Y     int
	Label string
}

// series is one named row of values.
type series struct {
	Name   string
	Values []int64
}

func px(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// newColumns draws bars (stacked, in order) and lines over labels, in a
// chart width pixels wide. The last column is labelled lastLabel when set
// (e.g. "today"), and about ten others are labelled.
func newColumns(id, title string, labels []string, bars, lines []series, width int, lastLabel string) columnChart {
	const left, plotH = 44, 180
	c := columnChart{ID: id, Title: title, PlotH: plotH, Left: left, Width: width, Height: plotH + 40}
	n := len(labels)
	step := float64(width-left-10) / float64(max(n, 1))
	gap := step * 0.2
	var top int64 = 1
	for i := range n {
		var sum int64
		for _, s := range bars {
			sum += s.Values[i]
		}
		top = max(top, sum)
		for _, l := range lines {
			top = max(top, l.Values[i])
		}
	}
	top = niceTop(top)
	scale := func(v int64) float64 { return float64(v) / float64(top) * plotH }
	every := max(1, (n+9)/10)
	for i := range n {
		x := float64(left) + float64(i)*step
		col := column{}
		var tips []string
		y := float64(plotH)
		for k, s := range bars {
			v := s.Values[i]
			h := scale(v)
			y -= h
			col.Segs = append(col.Segs, seg{X: px(x), Y: px(y), W: px(step - gap), H: px(h), Class: fmt.Sprintf("s%d", k%9)})
			tips = append(tips, fmt.Sprintf("%d %s", v, s.Name))
		}
		for _, l := range lines {
			tips = append(tips, fmt.Sprintf("%d %s", l.Values[i], l.Name))
		}
		col.Tip = labels[i] + ": " + strings.Join(tips, ", ")
		c.Cols = append(c.Cols, col)
		last := i == n-1
		// A label keeps clear of the last one, which may be a word
		// ("this week") wider than a column.
		clear := float64(n-1-i)*step >= float64(utf8.RuneCountInString(labels[i])+utf8.RuneCountInString(cmp.Or(lastLabel, labels[n-1])))*3.5+8
		if (i%every == 0 && n-1-i >= every/2 && clear) || last {
			label := labels[i]
			if last && lastLabel != "" {
				label = lastLabel
			}
			c.Labels = append(c.Labels, xlabel{X: px(x + (step-gap)/2), Label: label})
		}
	}
	for k, l := range lines {
		var pts []string
		for i, v := range l.Values {
			pts = append(pts, px(float64(left)+float64(i)*step+(step-gap)/2)+","+px(plotH-scale(v)))
		}
		c.Lines = append(c.Lines, polyline{Points: strings.Join(pts, " "), Class: fmt.Sprintf("l%d", k%8)})
	}
	if len(bars) > 1 || len(lines) > 0 {
		for k, s := range bars {
			c.Legend = append(c.Legend, legend{Name: s.Name, Class: fmt.Sprintf("s%d", k%9)})
		}
		for k, l := range lines {
			c.Legend = append(c.Legend, legend{Name: l.Name, Class: fmt.Sprintf("l%d", k%8)})
		}
	}
	for _, f := range []int64{0, 2, 4} {
		v := top * f / 4
		c.Ticks = append(c.Ticks, tick{Y: plotH - int(scale(v)), Label: strconv.FormatInt(v, 10)})
	}
	return c
}

// niceTop rounds a maximum up so the ticks at 1/2 and 1/1 are round.
func niceTop(v int64) int64 {
	if v <= 4 {
		return 4
	}
	p := int64(1)
	for p*10 < v {
		p *= 10
	}
	for _, m := range []int64{1, 2, 4, 5, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return v
}

// Chart widths: a card across the page and a card in a half.
const (
	wideWidth = 1180
	halfWidth = 560
)
