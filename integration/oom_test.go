package integration

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestClusterRevalidateRedisOOM: Redis is out of memory (maxmemory below
// what it uses, noeviction), so the revalidation's script is refused with
// Redis's OOM error. The caller gets 500 with the stable code
// revalidate_failed and a fixed message: no Redis reply, no script hash.
// The replica's log has the details. The stored page is still served, and
// once Redis has memory again the same revalidation succeeds.
func TestClusterRevalidateRedisOOM(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	r := c.startReplica(t, "r1", replicaConfig{Options: isr.Options{Revalidate: time.Hour}})
	const path = "/oom/page"
	mustGet(t, c.client, r.URL+path)
	ctx := t.Context()
	if err := c.admin.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	a := c.revalidate(t, r.URL, "path="+path, "", "Authorization", "Bearer "+testSecret)
	var body struct{ Code, Message string }
	_ = json.Unmarshal([]byte(a.Body), &body)
	if a.Status != http.StatusInternalServerError || body.Code != "revalidate_failed" {
		t.Errorf("revalidation under OOM = %v, want 500 revalidate_failed", a)
	}
	for _, internal := range []string{"OOM", "maxmemory", "script", "f_", "isrredis"} {
		if strings.Contains(a.Body, internal) {
			t.Errorf("the answer shows %q: %s", internal, a.Body)
		}
	}
	if !strings.Contains(r.Logs.String(), "OOM") {
		t.Errorf("the replica's log lacks Redis's OOM error:\n%s", r.Logs)
	}
	if ans := mustGet(t, c.client, r.URL+path); !strings.Contains(ans.Body, version(path, 1)) {
		t.Errorf("GET during the OOM = %v, want the stored page", ans)
	}
	if err := c.admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	c.revalidateOK(t, r.URL, "path="+path, "")
}
