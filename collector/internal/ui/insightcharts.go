package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// The dashboard's answers to "which versions still use X, is X growing,
// how is the extension installed, how often do gateways restart".

// featureLines is how many components features_weekly draws (the
// largest); the CSV has them all.
const featureLines = 6

// featureVersionsRow is one component and its clusters per version.
type featureVersionsRow struct {
	Feature, Clusters, Versions string
}

// distributionRow is one line of the distributions table.
type distributionRow struct {
	Name, N, P50, P90, P99 string
}

// insights are the charts and tables of those answers.
type insights struct {
	FeaturesWeekly  columnChart
	Channels        barChart
	FeatureVersions []featureVersionsRow
	Distributions   []distributionRow
}

func insightCharts(st *store.Stats) insights {
	var d insights
	var weeks []string
	lines := []series{}
	for i, w := range st.FeaturesWeekly {
		weeks = append(weeks, w.Week[5:])
		for k, f := range w.Features {
			if k >= featureLines || f.Value == store.Other {
				continue
			}
			if i == 0 {
				lines = append(lines, series{Name: f.Value, Values: make([]int64, len(st.FeaturesWeekly))})
			}
			for j := range lines {
				if lines[j].Name == f.Value {
					lines[j].Values[i] = f.Clusters
				}
			}
		}
	}
	d.FeaturesWeekly = newColumns("features-weekly", "Clusters using each component, by ISO week", weeks, nil, lines, halfWidth, "this week")

	d.Channels = newShareChart("channels", fmt.Sprintf("Install channel (mode/libc): %% of %s", plural(st.ActiveClusters.Range, "active cluster")),
		st.Channels.Channel, st.ActiveClusters.Range)

	for i, f := range st.FeatureVersions {
		if i >= 2*hbarMaxRow {
			break
		}
		var vs []string
		for _, v := range f.Versions {
			vs = append(vs, fmt.Sprintf("%s (%d)", v.Value, v.Clusters))
		}
		d.FeatureVersions = append(d.FeatureVersions, featureVersionsRow{Feature: f.Feature, Clusters: fmt.Sprint(f.Clusters), Versions: strings.Join(vs, " · ")})
	}

	ds := st.Distributions
	for _, p := range ds.UptimeByVersion {
		d.Distributions = append(d.Distributions, distributionRow{Name: "uptime, " + cut(p.Value, maxLabel), N: plural(p.N, "server"),
			P50: uptime(p.P50), P90: uptime(p.P90), P99: uptime(p.P99)})
	}
	for _, x := range []struct {
		name string
		p    store.Percentiles
	}{{"endpoints per cluster", ds.EndpointsPerCluster}, {"backends per cluster", ds.BackendsPerCluster}, {"servers per cluster", ds.ServersPerCluster}} {
		d.Distributions = append(d.Distributions, distributionRow{Name: x.name, N: plural(x.p.N, "cluster"),
			P50: fmt.Sprint(x.p.P50), P90: fmt.Sprint(x.p.P90), P99: fmt.Sprint(x.p.P99)})
	}
	return d
}

// uptime formats seconds the short way: 40s, 50m, 3h, 20d.
func uptime(sec int64) string {
	d := time.Duration(sec) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", sec)
	case d < time.Hour:
		return fmt.Sprintf("%dm", sec/60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", sec/3600)
	}
	return fmt.Sprintf("%dd", sec/86400)
}
