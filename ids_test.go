package krakendusage

import (
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/luraproject/lura/v2/config"
	serverplugin "github.com/luraproject/lura/v2/transport/http/server/plugin"
)

func isUUID5(t *testing.T, s string) {
	t.Helper()
	u, err := uuid.Parse(s)
	if err != nil || u.Version() != 5 || u.String() != s {
		t.Errorf("%q is not a canonical version 5 UUID (%v)", s, err)
	}
}

func TestClusterID(t *testing.T) {
	a, b := ClusterID("hash-a"), ClusterID("hash-b")
	isUUID5(t, a)
	if a != ClusterID("hash-a") {
		t.Error("ClusterID is not stable")
	}
	if a == b {
		t.Error("two config hashes gave one cluster ID")
	}
	if strings.Contains(a, "hash-a") {
		t.Errorf("cluster ID %s carries the hash", a)
	}
}

func TestServerID(t *testing.T) {
	a := ServerID("machine-id:abc", 8080)
	isUUID5(t, a)
	for _, other := range []string{ServerID("machine-id:abc", 8081), ServerID("machine-id:abd", 8080)} {
		if other == a {
			t.Errorf("got one server ID for two instances: %s", a)
		}
	}
	if a != ServerID("machine-id:abc", 8080) {
		t.Error("ServerID is not stable")
	}
	if ServerID("a", 18080) == ServerID("a1", 8080) {
		t.Error("identity and port are not separated")
	}
}

func TestInstanceIdentity(t *testing.T) {
	dir := t.TempDir()
	saved := machineIDFiles
	t.Cleanup(func() { machineIDFiles = saved })

	empty, mid := dir+"/empty", dir+"/machine-id"
	os.WriteFile(empty, []byte("\n"), 0o644)
	os.WriteFile(mid, []byte("0123456789abcdef\n"), 0o644)
	machineIDFiles = []string{dir + "/missing", empty, mid}
	if got := instanceIdentity(); got != "machine-id:0123456789abcdef" {
		t.Errorf("got %q, want the machine ID", got)
	}
	machineIDFiles = []string{dir + "/missing"}
	host, _ := os.Hostname()
	if got := instanceIdentity(); got != "hostname:"+host {
		t.Errorf("got %q, want the hostname %q", got, host)
	}
}

func TestIDsNeverCarryRawValues(t *testing.T) {
	saved := machineIDFiles
	t.Cleanup(func() { machineIDFiles = saved })
	machineIDFiles = nil // hostname fallback
	host, _ := os.Hostname()

	cfg := parseTestConfig(t, exampleTestConfig)
	hash, err := configHash(cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := cfg.Hash()
	cluster, server := ids(Config{}, instance{hash: hash, port: cfg.Port})
	isUUID5(t, cluster)
	isUUID5(t, server)
	for _, secret := range []string{host, hash, raw, strings.TrimRight(raw, "=")} {
		if secret == "" {
			continue
		}
		for _, id := range []string{cluster, server} {
			if strings.Contains(id, secret) {
				t.Errorf("ID %s contains %q", id, secret)
			}
		}
	}
}

func TestIDOverrides(t *testing.T) {
	cfg := Config{ClusterID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", ServerID: "6ba7b811-9dad-11d1-80b4-00c04fd430c8"}
	c, s := ids(cfg, instance{hash: "h", port: 1})
	if c != cfg.ClusterID || s != cfg.ServerID {
		t.Errorf("got %s %s, want the overrides", c, s)
	}
}

func TestConfigHash(t *testing.T) {
	base := parseTestConfig(t, exampleTestConfig)
	h := func(c config.ServiceConfig) string {
		t.Helper()
		s, err := configHash(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := h(base)
	if got := h(parseTestConfig(t, exampleTestConfig)); got != want {
		t.Errorf("same config, two hashes: %s, %s", got, want)
	}

	// Not part of the cluster identity: the port, the name, our own block.
	same := parseTestConfig(t, exampleTestConfig)
	same.Port, same.Name = 9999, "renamed"
	same.ExtraConfig[Namespace] = map[string]interface{}{"url": "http://elsewhere", "dry_run": true}
	if got := h(same); got != want {
		t.Error("port, name or usage settings changed the cluster hash")
	}
	if same.Port != 9999 || same.ExtraConfig[Namespace] == nil {
		t.Error("configHash modified its argument")
	}

	more := parseTestConfig(t, exampleTestConfig)
	more.Endpoints = append(more.Endpoints, &config.EndpointConfig{Endpoint: "/new", Method: "GET"})
	if h(more) == want {
		t.Error("an added endpoint kept the cluster hash")
	}
}

func TestBlockHash(t *testing.T) {
	a := blockHash(map[string]interface{}{"url": "http://a", "dry_run": true})
	if a != blockHash(map[string]interface{}{"url": "http://a"}) {
		t.Error("dry_run changed the fallback hash")
	}
	if a == blockHash(map[string]interface{}{"url": "http://b"}) {
		t.Error("two blocks, one fallback hash")
	}
}

func TestConfigHashAlias(t *testing.T) {
	// With and without KrakenD's "plugin/http-server" alias applied.
	short := config.ServiceConfig{Version: 3, ExtraConfig: config.ExtraConfig{
		"plugin/http-server": map[string]interface{}{"name": []interface{}{"krakend-usage"}, "krakend-usage": map[string]interface{}{"url": "http://a"}},
	}}
	long := config.ServiceConfig{Version: 3, ExtraConfig: config.ExtraConfig{
		serverplugin.Namespace: map[string]interface{}{"name": []interface{}{"krakend-usage"}, "krakend-usage": map[string]interface{}{"url": "http://b"}},
	}}
	a, _ := configHash(short)
	b, _ := configHash(long)
	if a != b {
		t.Errorf("alias changed the hash: %s, %s", a, b)
	}
}
