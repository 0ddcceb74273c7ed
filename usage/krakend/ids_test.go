package krakend

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var uuid5Syntax = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func isUUID5(t *testing.T, s string) {
	t.Helper()
	if !uuid5Syntax.MatchString(s) {
		t.Errorf("%q is not a canonical version 5 UUID", s)
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
	if got := InstanceIdentity(); got != "machine-id:0123456789abcdef" {
		t.Errorf("got %q, want the machine ID", got)
	}
	machineIDFiles = []string{dir + "/missing"}
	host, _ := os.Hostname()
	if got := InstanceIdentity(); got != "hostname:"+host {
		t.Errorf("got %q, want the hostname %q", got, host)
	}
}

func TestIDOverrides(t *testing.T) {
	cfg := Config{ClusterID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", ServerID: "6ba7b811-9dad-11d1-80b4-00c04fd430c8"}
	c, s := ids(cfg, Instance{Digest: "h", Port: 1})
	if c != cfg.ClusterID || s != cfg.ServerID {
		t.Errorf("got %s %s, want the overrides", c, s)
	}
}

func TestBlockDigest(t *testing.T) {
	a := BlockDigest(map[string]interface{}{"url": "http://a", "dry_run": true})
	if a != BlockDigest(map[string]interface{}{"url": "http://a"}) {
		t.Error("dry_run changed the fallback hash")
	}
	if a == BlockDigest(map[string]interface{}{"url": "http://b"}) {
		t.Error("two blocks, one fallback hash")
	}
}
