package deploytest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/proctest"
)

// TestKubernetesManifest runs deploy/kubernetes/usage-collector.yaml with
// podman kube play, as far as podman goes: the Deployment's pod with its
// security context (user 65532, read-only root filesystem), its /tmp
// volume, environment and ports, on PostgreSQL. Changed for the test: the
// DSN names a PostgreSQL container (postgresStandin) on podman's network,
// the image is the one built from this tree, the Secret's values are given
// as env entries (podman 4.3 cannot read back a Secret it creates), and
// the ports are free ones with one replica (podman publishes every
// containerPort on the host, so a second pod would want the same ports).
// Not checked, for podman has no Kubernetes control plane: the Secret, the
// two replicas, the Services, the probes' effect and the resource requests.
func TestKubernetesManifest(t *testing.T) {
	image := collectorImage(t)
	pg := strings.TrimSpace(run(t, "podman", "run", "-d", "--network", "podman", "-e", "POSTGRES_USER=usage",
		"-e", "POSTGRES_PASSWORD=kube-pw", "-e", "POSTGRES_DB=usage", postgresImage(t)))
	t.Cleanup(func() { runErr("podman", "rm", "-f", "-t", "0", pg) })
	pgIP := strings.TrimSpace(run(t, "podman", "inspect", "--format", "{{.NetworkSettings.IPAddress}}", pg))
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := runErr("podman", "exec", pg, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "usage", "-d", "usage"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL did not start:\n%s", run(t, "podman", "logs", pg))
		}
		time.Sleep(200 * time.Millisecond)
	}
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "kubernetes", "usage-collector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	port, adminPort := proctest.FreePort(t), proctest.FreePort(t)
	m := string(data)
	// podman 4.3's kube play stores a Secret it cannot read back for
	// envFrom ("secret ... is not valid JSON"): the Secret's values
	// become env entries of the container instead.
	secret, rest, ok := strings.Cut(m, "\n---\n")
	if !ok || !strings.Contains(secret, "kind: Secret") {
		t.Fatal("the manifest does not start with the Secret: update the test")
	}
	m = rest
	for old, new := range map[string]string{
		"          envFrom:\n            - secretRef: {name: usage-collector}\n          env:\n": "          env:\n" +
			"            - {name: USAGE_COLLECTOR_DB, value: \"postgres://usage:kube-pw@" + pgIP + ":5432/usage?sslmode=disable\"}\n" +
			"            - {name: USAGE_COLLECTOR_SECRET, value: \"kube-test-signing-key\"}\n",
		"image: usage-collector:latest": "image: " + image,
		// podman publishes every containerPort on the host: free ports,
		// and one replica (a second pod would want the same ones).
		"replicas: 2":         "replicas: 1",
		`value: ":8090"`:      `value: ":` + port + `"`,
		`value: ":8091"`:      `value: ":` + adminPort + `"`,
		"containerPort: 8090": "containerPort: " + port,
		"containerPort: 8091": "containerPort: " + adminPort,
	} {
		if !strings.Contains(m, old) {
			t.Fatalf("the manifest no longer holds %q: update the test", old)
		}
		m = strings.ReplaceAll(m, old, new)
	}
	file := filepath.Join(t.TempDir(), "usage-collector.yaml")
	if err := os.WriteFile(file, []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { runErr("podman", "kube", "down", file) })
	run(t, "podman", "kube", "play", file)
	ids := strings.Fields(run(t, "podman", "ps", "--filter", "pod=usage-collector-pod-0", "--filter", "name=collector", "--format", "{{.ID}}"))
	if len(ids) != 1 {
		t.Fatalf("collector containers %v, want one:\n%s", ids, run(t, "podman", "ps", "-a", "--pod"))
	}
	id := ids[0]
	url, admin := "http://127.0.0.1:"+port, "http://127.0.0.1:"+adminPort
	waitHealthy(t, url, time.Minute)
	report(t, url, "kube-c", "kube-s1")
	report(t, url, "kube-c", "kube-s2")
	if got := storedReports(t, admin, ""); got != 2 {
		t.Errorf("%d reports stored, want 2", got)
	}
	top := strings.Fields(run(t, "podman", "top", id, "user"))
	if len(top) < 2 || top[1] != "65532" {
		t.Errorf("podman top: %v, want the manifest's user 65532", top)
	}
	if ro := strings.TrimSpace(run(t, "podman", "inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", id)); ro != "true" {
		t.Errorf("read-only root filesystem: %s, want true", ro)
	}
}
