package krakend

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
)

// idSpace is the namespace of every name-based UUID this project derives
// (dcddbbaf-cf9b-46de-9fe2-2196972f73ab). It is fixed forever: changing
// it would give every gateway new IDs.
var idSpace = [16]byte{0xdc, 0xdd, 0xbb, 0xaf, 0xcf, 0x9b, 0x46, 0xde, 0x9f, 0xe2, 0x21, 0x96, 0x97, 0x2f, 0x73, 0xab}

// machineIDFiles are read in order; the first non-empty one wins.
var machineIDFiles = []string{"/etc/machine-id", "/var/lib/dbus/machine-id"}

// ClusterID maps a config digest ([Service.Digest]) to a name-based UUID
// (version 5). Identical configs give one ID on every node; the digest
// itself never leaves the machine.
func ClusterID(digest string) string {
	return uuid5("cluster\x00" + digest)
}

// ServerID maps an instance identity (machine ID or hostname) and the
// listening port to a name-based UUID (version 5): stable across restarts,
// different for two gateways on one host. The identity is never sent.
func ServerID(identity string, port int) string {
	return uuid5("server\x00" + identity + "\x00" + strconv.Itoa(port))
}

// uuid5 is the RFC 9562 version 5 UUID of name in idSpace.
func uuid5(name string) string {
	h := sha1.New()
	h.Write(idSpace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// canonicalUUID returns s in lower case when it is a UUID in its 36
// character form, so that the case of an override does not split a cluster.
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return "", false
			}
		}
	}
	return strings.ToLower(s), true
}

// InstanceIdentity returns the machine ID, else the hostname, else a
// constant, so that ServerID always has something stable to work on.
func InstanceIdentity() string {
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

// BlockDigest digests the extension's own config block (without the
// settings that should not change the cluster): the fallback for the
// cluster ID when the gateway config cannot be read.
func BlockDigest(block interface{}) string {
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
