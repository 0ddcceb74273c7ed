package krakendusage

import (
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/luraproject/lura/v2/config"
	serverplugin "github.com/luraproject/lura/v2/transport/http/server/plugin"
)

func TestConfigHash(t *testing.T) {
	base := parseTestConfig(t, exampleTestConfig)
	h := func(c config.ServiceConfig) string {
		t.Helper()
		s, err := ConfigDigest(c)
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

func TestConfigHashAlias(t *testing.T) {
	// With and without KrakenD's "plugin/http-server" alias applied.
	short := config.ServiceConfig{Version: 3, ExtraConfig: config.ExtraConfig{
		"plugin/http-server": map[string]interface{}{"name": []interface{}{"krakend-usage"}, "krakend-usage": map[string]interface{}{"url": "http://a"}},
	}}
	long := config.ServiceConfig{Version: 3, ExtraConfig: config.ExtraConfig{
		serverplugin.Namespace: map[string]interface{}{"name": []interface{}{"krakend-usage"}, "krakend-usage": map[string]interface{}{"url": "http://b"}},
	}}
	a, _ := ConfigDigest(short)
	b, _ := ConfigDigest(long)
	if a != b {
		t.Errorf("alias changed the hash: %s, %s", a, b)
	}
}

// The IDs are the name-based UUIDs google/uuid derives, as they were before
// the extension moved to the standard library: a server keeps its ID.
func TestIDsMatchGoogleUUID(t *testing.T) {
	space := uuid.MustParse("dcddbbaf-cf9b-46de-9fe2-2196972f73ab")
	if got, want := ServerID("machine-id:abc", 8080), uuid.NewSHA1(space, []byte("server\x00machine-id:abc\x008080")).String(); got != want {
		t.Errorf("ServerID = %s, want %s", got, want)
	}
	if got, want := ClusterID("d"), uuid.NewSHA1(space, []byte("cluster\x00d")).String(); got != want {
		t.Errorf("ClusterID = %s, want %s", got, want)
	}
}

func TestIDsNeverCarryRawValues(t *testing.T) {
	host, _ := os.Hostname()
	cfg := parseTestConfig(t, exampleTestConfig)
	digest, err := ConfigDigest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := cfg.Hash()
	cluster, server := ClusterID(digest), ServerID("hostname:"+host, cfg.Port)
	testenv.IsUUID5(t, cluster)
	testenv.IsUUID5(t, server)
	for _, secret := range []string{host, digest, strings.TrimPrefix(digest, "service-v1:"), raw, strings.TrimRight(raw, "=")} {
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
