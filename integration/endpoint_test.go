package integration

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestClusterRevalidateEndpoint proves the guard of POST /api/revalidate on
// in-process replicas: a wrong or missing token is answered 401
// {"message":"Invalid token"} and changes nothing, a bad path is answered
// 400, and the token never appears in the replicas' logs, even when it was
// sent as a query parameter. TestClusterProcesses repeats the checks on the
// real binary.
func TestClusterRevalidateEndpoint(t *testing.T) {
	c := newCluster(t)
	reps := c.startReplicas(t, 2, replicaConfig{Options: isr.Options{Revalidate: time.Hour}})
	checkRevalidateGuard(t, c, reps[0].URL)
	for _, r := range reps {
		if strings.Contains(r.Logs.String(), testSecret) {
			t.Errorf("%s's log contains the revalidation token", r.Name)
		}
	}
}

// checkRevalidateGuard checks the answers of base's /api/revalidate to
// unauthorized requests and bad paths, and that neither changed the page
// /guarded, which it first caches.
func checkRevalidateGuard(t *testing.T, c *cluster, base string) {
	t.Helper()
	const path = "/guarded"
	mustGet(t, c.client, base+path)
	bearer := "Bearer " + testSecret

	for _, tc := range []struct {
		name, query string
		hdr         []string
	}{
		{name: "no token", query: "path=" + path},
		{name: "wrong query secret", query: "secret=wrong&path=" + path},
		{name: "empty query secret", query: "secret=&path=" + path},
		{name: "wrong bearer", query: "path=" + path, hdr: []string{"Authorization", "Bearer wrong"}},
		{name: "empty bearer", query: "path=" + path, hdr: []string{"Authorization", "Bearer "}},
		{name: "basic scheme", query: "path=" + path, hdr: []string{"Authorization", "Basic " + testSecret}},
		{name: "wrong bearer wins over the right query secret", query: "secret=" + testSecret + "&path=" + path,
			hdr: []string{"Authorization", "Bearer wrong"}},
	} {
		a := c.revalidate(t, base, tc.query, "", tc.hdr...)
		var msg struct{ Message string }
		if a.Status != http.StatusUnauthorized || json.Unmarshal([]byte(a.Body), &msg) != nil || msg.Message != "Invalid token" {
			t.Errorf("%s: POST /api/revalidate = %v, want 401 {\"message\":\"Invalid token\"}", tc.name, a)
		}
	}

	for _, bad := range []string{"posts/1", "//evil.example", "/%2e%2e/x", "/a/../b", "https://evil.example/x"} {
		if a := c.revalidate(t, base, url.Values{"path": {bad}}.Encode(), "", "Authorization", bearer); a.Status != http.StatusBadRequest {
			t.Errorf("revalidate ?path=%s = %v, want 400", bad, a)
		}
		body, _ := json.Marshal(map[string][]string{"paths": {path, bad}})
		if a := c.revalidate(t, base, "", string(body), "Authorization", bearer); a.Status != http.StatusBadRequest {
			t.Errorf("revalidate body %s = %v, want 400", body, a)
		}
	}

	if n := c.origin.Renders(path); n != 1 {
		t.Errorf("origin requests for %s = %d, want 1: refused revalidations must not render", path, n)
	}
	if e := c.entry(t, path); e == nil || e.Stale() {
		t.Errorf("page %s in Redis = %+v, want still stored and fresh", path, e)
	}
}
