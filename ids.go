package krakendusage

import (
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/luraproject/lura/v2/config"
)

// ClusterID maps a config digest to the cluster's name-based UUID; see
// [krakend.ClusterID] and [ConfigDigest].
func ClusterID(digest string) string { return krakend.ClusterID(digest) }

// ServerID maps an instance identity and a port to the server's
// name-based UUID; see [krakend.ServerID].
func ServerID(identity string, port int) string { return krakend.ServerID(identity, port) }

// ConfigDigest is the host-independent digest of cfg the cluster ID is
// derived from ([krakend.Service.Digest]).
func ConfigDigest(cfg config.ServiceConfig) (string, error) {
	s, err := krakend.DescribeService(cfg)
	if err != nil {
		return "", err
	}
	return s.Digest(), nil
}
