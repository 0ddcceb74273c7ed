package store

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Page sizes of GET /api/clusters.
const (
	DefaultClusterPage = 50
	MaxClusterPage     = 500
	// MaxClusterServers bounds the servers listed for one cluster.
	MaxClusterServers = 500
)

// ClusterPage is one page of GET /api/clusters.
type ClusterPage struct {
	Clusters []ClusterRow `json:"clusters"`
	// Next is the cursor of the following page; empty on the last one.
	Next string `json:"next"`
}

// ClusterRow is one cluster: IDs are the anonymous UUIDs the gateways
// send, nothing else identifies anyone.
type ClusterRow struct {
	ClusterID string    `json:"cluster_id"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// ActiveServers is how many distinct servers reported for the
	// cluster on its latest day of activity (UTC), or on the day before
	// when that was more: a day holds two reports of every server.
	ActiveServers int64 `json:"active_servers"`
	// Version is the latest version any of its servers reported.
	Version string `json:"version"`
	// Endpoints is the endpoint count of its latest gateway payload, -1
	// when none held one.
	Endpoints int64 `json:"endpoints"`
	// Features are the components of its latest gateway payload.
	Features []string `json:"features"`
}

// ClusterDetail is GET /api/clusters/{id}: the cluster and its servers.
type ClusterDetail struct {
	ClusterRow
	Servers []ServerRow `json:"servers"`
	// More is set when the cluster has more servers than listed.
	More bool `json:"more"`
}

// ServerRow is one server of a cluster, by its latest report.
type ServerRow struct {
	ServerID string `json:"server_id"`
	// FirstSeen is the server's first report in this cluster.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Version   string    `json:"version"`
	OS        string    `json:"os"`
	Arch      string    `json:"arch"`
	Endpoints int64     `json:"endpoints"`
}

// EncodeCursor makes the opaque cursor after a row last seen at lastSeen
// (Unix seconds) with that ID.
func EncodeCursor(lastSeen int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(lastSeen, 10) + ":" + id))
}

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(c string) (lastSeen int64, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", ErrCursor
	}
	sec, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return 0, "", ErrCursor
	}
	lastSeen, err = strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, "", ErrCursor
	}
	return lastSeen, id, nil
}
