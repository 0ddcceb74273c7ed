package krakendusage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/luraproject/lura/v2/config"
	serverplugin "github.com/luraproject/lura/v2/transport/http/server/plugin"
)

// idSpace is the namespace of every name-based UUID this project derives.
// It is fixed forever: changing it would give every gateway new IDs.
var idSpace = uuid.MustParse("dcddbbaf-cf9b-46de-9fe2-2196972f73ab")

// machineIDFiles are read in order; the first non-empty one wins.
var machineIDFiles = []string{"/etc/machine-id", "/var/lib/dbus/machine-id"}

// ClusterID maps a config hash to a name-based UUID (version 5). Identical
// configs give one ID on every node; the hash itself never leaves the
// machine, so it cannot be matched against KrakenD's own telemetry.
func ClusterID(configHash string) string {
	return uuid.NewSHA1(idSpace, []byte("cluster\x00"+configHash)).String()
}

// ServerID maps an instance identity (machine ID or hostname) and the
// listening port to a name-based UUID (version 5): stable across restarts,
// different for two gateways on one host. The identity is never sent.
func ServerID(identity string, port int) string {
	return uuid.NewSHA1(idSpace, []byte("server\x00"+identity+"\x00"+strconv.Itoa(port))).String()
}

// instanceIdentity returns the machine ID, else the hostname, else a
// constant, so that ServerID always has something stable to work on.
func instanceIdentity() string {
	for _, f := range machineIDFiles {
		if b, err := os.ReadFile(f); err == nil {
			if id := strings.TrimSpace(string(b)); id != "" {
				return "machine-id:" + id
			}
		}
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return "hostname:" + h
	}
	return "unknown"
}

// configHash is lura's ServiceConfig.Hash of cfg without what should not
// split a cluster: the listening port (two instances on one host share
// their config but not their port) and this reporter's own settings
// (turning dry_run on must show the IDs that would really be sent).
// cfg is not modified.
func configHash(cfg config.ServiceConfig) (string, error) {
	c := cfg
	c.Port = 0
	c.ExtraConfig = withoutUsage(cfg.ExtraConfig)
	return c.Hash()
}

// withoutUsage returns a shallow copy of e without the Namespace block and
// without this plugin's block inside the http-server plugin config.
func withoutUsage(e config.ExtraConfig) config.ExtraConfig {
	if e == nil {
		return nil
	}
	out := make(config.ExtraConfig, len(e))
	for k, v := range e {
		out[k] = v
	}
	delete(out, Namespace)
	// A gateway that does not register KrakenD's alias keeps the short
	// name: hash both spellings the same.
	if v, ok := out["plugin/http-server"]; ok {
		if _, dup := out[serverplugin.Namespace]; !dup {
			delete(out, "plugin/http-server")
			out[serverplugin.Namespace] = v
		}
	}
	if m, ok := out[serverplugin.Namespace].(map[string]interface{}); ok {
		cp := make(map[string]interface{}, len(m))
		for k, v := range m {
			if k != PluginName {
				cp[k] = v
			}
		}
		out[serverplugin.Namespace] = cp
	}
	return out
}

// blockHash hashes the plugin's own config block (without the settings
// that should not change the cluster): the fallback when the gateway
// config cannot be read.
func blockHash(block interface{}) string {
	m, _ := block.(map[string]interface{})
	cp := make(map[string]interface{}, len(m))
	for k, v := range m {
		switch k {
		case "disabled", "dry_run", "cluster_id", "server_id":
		default:
			cp[k] = v
		}
	}
	b, _ := json.Marshal(cp) // map keys are sorted: stable
	sum := sha256.Sum256(b)
	return "plugin-block:" + hex.EncodeToString(sum[:])
}
