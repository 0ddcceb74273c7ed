package krakendusage

import (
	"encoding/base64"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// The samples under "What is sent" in the README and docs/gateway.md are
// what the payload code gives for examples/krakend.json read as the
// plugin reads it (mode plugin, glibc): the extra payload's JSON, the
// base64 of the dry-run report and its cluster ID.
func TestWhatIsSentSamples(t *testing.T) {
	const example = "examples/krakend.json"
	cfg, err := ReadGatewayConfig([]string{"krakend", "run", "-c", example}, testenv.NoEnv)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPayload(cfg)
	p.Mode, p.Libc = krakend.ModePlugin, krakend.LibcGlibc
	payload := string(p.JSON())
	digest, err := ConfigDigest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cluster := ClusterID(digest)
	for _, doc := range []string{"README.md", "docs/gateway.md"} {
		section := markdownSection(t, doc, "## What is sent")
		if !strings.Contains(section, "```json\n"+payload+"\n```") {
			t.Errorf("%s, What is sent: no sample of the extra payload of %s; want the block\n```json\n%s\n```", doc, example, payload)
		}
		for _, m := range regexp.MustCompile(`"extra": ?"([A-Za-z0-9+/=]+)"`).FindAllStringSubmatch(section, -1) {
			if b, err := base64.StdEncoding.DecodeString(m[1]); err != nil || string(b) != payload {
				t.Errorf("%s, What is sent: the report's extra decodes to %s (%v); want %q, the base64 of %s", doc, b, err, base64.StdEncoding.EncodeToString([]byte(payload)), payload)
			}
		}
		for _, m := range regexp.MustCompile(`"cluster_id": ?"([0-9a-f-]{36})"`).FindAllStringSubmatch(section, -1) {
			if m[1] != cluster {
				t.Errorf("%s, What is sent: cluster ID %s; %s gives %s", doc, m[1], example, cluster)
			}
		}
	}
}

// markdownSection returns the text of file from the heading line to the
// next heading of the same or a higher level.
func markdownSection(t *testing.T, file, heading string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q heading", file, heading)
	}
	level := strings.Repeat("#", strings.Index(heading, " "))
	for _, l := range strings.SplitAfter(section, "\n") {
		if strings.HasPrefix(l, "#") && strings.HasPrefix(l, level) && !strings.HasPrefix(l, level+"#") {
			section, _, _ = strings.Cut(section, l)
			break
		}
	}
	return section
}
