package usage

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"
)

func TestWireJSON(t *testing.T) {
	tests := []struct {
		v    interface{}
		want string
	}{
		{SessionRequest{ClusterID: "c", ServerID: "s"}, `{"cluster_id":"c","server_id":"s"}`},
		{SessionReply{Token: "t"}, `{"token":"t"}`},
		{SessionReply{Token: "t", Bits: 22}, `{"token":"t","bits":22}`},
		{ReportReply{Status: 200}, `{"status":200}`},
		{ReportReply{Status: 400, Message: "m"}, `{"status":400,"message":"m"}`},
		{ReportRequest{Token: "t", Pow: "p", Data: UsageData{Version: "v", Arch: "amd64", OS: "linux",
			ClusterID: "c", ServerID: "s", Uptime: 1, Time: 2, Extra: []byte("hi")}},
			`{"token":"t","pow":"p","data":{"version":"v","arch":"amd64","os":"linux","cluster_id":"c","server_id":"s","uptime":1,"time":2,"extra":"aGk="}}`},
		{UsageData{}, `{"version":"","arch":"","os":"","cluster_id":"","server_id":"","uptime":0,"time":0}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("json of %T = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestUsageDataHash(t *testing.T) {
	d := UsageData{Version: "v2.14.1", Arch: "amd64", OS: "linux", ClusterID: "c", ServerID: "s",
		Uptime: 42, Time: 1764201600, Extra: []byte(`{"endpoints":3,"note":"<&>"}`)}
	got, err := d.Hash()
	if err != nil {
		t.Fatal(err)
	}
	// json.Encoder escapes HTML and ends with a newline; the hash covers both.
	enc, _ := json.Marshal(d)
	sum := sha256.Sum256(append(enc, '\n'))
	if want := base64.URLEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("Hash() = %s, want %s", got, want)
	}
	d.Uptime++
	if other, _ := d.Hash(); other == got {
		t.Error("Hash() did not change with the data")
	}
}

func TestUsageDataExpired(t *testing.T) {
	for _, tt := range []struct {
		age  time.Duration
		want bool
	}{{0, false}, {-30 * time.Second, false}, {ReportExpiration - 2*time.Second, false}, {ReportExpiration + 2*time.Second, true}} {
		d := UsageData{Time: time.Now().Add(-tt.age).Unix()}
		if got := d.Expired(); got != tt.want {
			t.Errorf("Expired() %s old = %v, want %v", tt.age, got, tt.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.HashBits != 20 || o.SaltChars != 40 || o.SessionEndpoint != "/session" || o.ReportEndpoint != "/report" ||
		o.Timeout != 15*time.Second || o.ReportLapse != 12*time.Hour || ReportExpiration != 60*time.Second {
		t.Errorf("defaults = %+v", o)
	}
	if o.URL != "" {
		t.Errorf("URL defaults to %q, want no default", o.URL)
	}
	if (Options{URL: "http://x/"}).withDefaults().URL != "http://x" {
		t.Error("trailing slash of URL kept")
	}
}
