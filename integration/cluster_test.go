package integration

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// testSecret is the revalidation token of every replica. Its odd spelling
// makes it easy to find in logs, where it must never appear.
const testSecret = "t0ken-Zq7rW2-never-logged"

// events is the pub/sub channel of the default key prefix ("isr").
const events = isrredis.DefaultPrefix + ":events"

// cluster is one test's world: its own redis-server, an admin client on it,
// the origin and an HTTP client for the test's requests. Replicas are
// added with startReplicas (in-process) or startProcesses (child
// processes). Everything stops at the end of the test.
type cluster struct {
	redis    *redistest.Server // nil on a Redis Cluster or Sentinel group
	redisURL string            // what replicas connect to (ISR_REDIS_URL)
	mode     isrredis.Mode     // how: single, cluster or sentinel
	admin    redis.UniversalClient
	origin   *origin
	client   *http.Client
}

// newCluster starts a redis-server and an origin for t.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	srv := redistest.Start(t)
	return &cluster{redis: srv, redisURL: srv.URL(), mode: isrredis.ModeSingle, admin: srv.Client(t),
		origin: newOrigin(t), client: newClient(t)}
}

// store returns a backend on the admin client, laid out as the replicas'.
func (c *cluster) store() *isrredis.Backend {
	return isrredis.New(c.admin, &isrredis.Options{Mode: c.mode})
}

// entry reads the page stored under key through a backend of its own, as
// any replica would see it in Redis, its body decoded as the origin sent
// it. It returns nil if no page is stored.
func (c *cluster) entry(t *testing.T, key string) *isr.Entry {
	t.Helper()
	e, err := c.store().Get(t.Context(), key)
	if errors.Is(err, isr.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("Get(%q) from Redis: %v", key, err)
	}
	body, err := isr.DecodedBody(e.Page) // the cache may have compressed it
	if err != nil {
		t.Fatalf("Get(%q) from Redis: body: %v", key, err)
	}
	p := *e.Page
	p.Body, p.Encoding = body, ""
	e.Page = &p
	return e
}

// lockKeys returns the regeneration locks held in Redis, of any page.
func (c *cluster) lockKeys(ctx context.Context) ([]string, error) {
	return c.admin.Keys(ctx, isrredis.DefaultPrefix+":l:*").Result()
}

// subscribers returns how many connections subscribe to the event channel
// (on a Redis Cluster, summed over the masters: each counts its own).
func (c *cluster) subscribers(ctx context.Context) (int64, error) {
	cc, ok := c.admin.(*redis.ClusterClient)
	if !ok {
		n, err := c.admin.PubSubNumSub(ctx, events).Result()
		return n[events], err
	}
	var total atomic.Int64
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.PubSubNumSub(ctx, events).Result()
		total.Add(n[events])
		return err
	})
	return total.Load(), err
}

// revalidate POSTs to base's /api/revalidate with query (without the "?")
// and body, sending hdr pairs, and returns the answer.
func (c *cluster) revalidate(t *testing.T, base, query, body string, hdr ...string) answer {
	t.Helper()
	u := base + "/api/revalidate"
	if query != "" {
		u += "?" + query
	}
	if body != "" {
		hdr = append(hdr, "Content-Type", "application/json")
	}
	return mustDo(t, c.client, http.MethodPost, u, body, hdr...)
}

// revalidateOK is revalidate with the Bearer token that fails the test
// unless every page was regenerated (or, in another mode, handled).
func (c *cluster) revalidateOK(t *testing.T, base, query, body string) revalidateResult {
	t.Helper()
	a := c.revalidate(t, base, query, body, "Authorization", "Bearer "+testSecret)
	if a.Status != http.StatusOK {
		t.Fatalf("POST %s/api/revalidate?%s %s = %v, want 200", base, query, body, a)
	}
	r := decodeRevalidate(t, a)
	if !r.Revalidated {
		t.Fatalf("POST %s/api/revalidate?%s %s = %v, want revalidated true", base, query, body, a)
	}
	return r
}

// bodyOf returns the body text of the page stored under key, or "" if none.
func (c *cluster) bodyOf(t *testing.T, key string) string {
	t.Helper()
	if e := c.entry(t, key); e != nil {
		return string(e.Page.Body)
	}
	return ""
}

// version returns the marker the origin puts in a body of version n of
// path, as in "/p v2 render #3".
func version(path string, n int) string {
	return path + " v" + strconv.Itoa(n) + " "
}
