package integration

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
)

// The network faults between replicas and Redis, made by Toxiproxy run in
// the test process (toxiharness_test.go), against replica processes of the
// cmd/isrcache binary: their circuit breaker, timeouts and hot cache are
// the production ones. Each test logs its figures (errors, worst latency,
// recovery), which docs/reliability.md reports.

// padded makes path's pages about n bytes bigger (a stored header), so that
// a bandwidth limit shows.
func padded(c *cluster, path string, n int) {
	c.origin.SetHeader(path, "X-Pad", strings.Repeat("p", n))
}

// redisVia returns the environment of a replica process whose Redis
// connections all go through p.
func redisVia(p *toxiproxy.Proxy, env map[string]string) map[string]string {
	out := map[string]string{"ISR_REDIS_URL": "redis://" + p.Listen + "/0"}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// TestClusterToxi runs the network fault tests of replica processes, in
// parallel, with one build of the binary.
func TestClusterToxi(t *testing.T) {
	bin := buildBinary(t)
	t.Run("slow redis", func(t *testing.T) { t.Parallel(); testToxiSlowRedis(t, bin) })
	t.Run("partition", func(t *testing.T) { t.Parallel(); testToxiPartition(t, bin) })
	t.Run("slow origin", func(t *testing.T) { t.Parallel(); testToxiSlowOrigin(t, bin) })
	t.Run("paused past lock TTL", func(t *testing.T) { t.Parallel(); testPausedLateWrite(t, bin) })
}

// testToxiSlowRedis: every replica reaches Redis over a link with 50ms of
// round trip (±10ms jitter) and 1 MB/s towards the replica, and pages of
// 32 KB. Every visitor of a cold burst on all replicas gets a 200 with one
// render's page; each replica renders at most once (a replica coalesces
// its own visitors whatever Redis does; across replicas, a store call that
// outlasts the breaker's 500ms deadline counts as Redis down, and the
// replica renders without waiting). An eager revalidation reaches every
// replica (a store call over the deadline answers 500 revalidate_failed;
// the caller retries). No visitor gets an error. Slower, never wrong.
func testToxiSlowRedis(t *testing.T, bin string) {
	c := newCluster(t)
	var procs []*process
	for _, name := range []string{"A", "B", "C"} {
		p := newToxiProxy(t, "redis-"+name, c.redis.Addr())
		addToxic(t, p, "rtt", "latency", "downstream", map[string]any{"latency": 25, "jitter": 5})
		addToxic(t, p, "rtt", "latency", "upstream", map[string]any{"latency": 25, "jitter": 5})
		addToxic(t, p, "narrow", "bandwidth", "downstream", map[string]any{"rate": 1024})
		procs = append(procs, c.startProcess(t, bin, name, redisVia(p, nil)))
	}
	const path = "/toxi/slow"
	padded(c, path, 32<<10)

	var cold tally
	var wg sync.WaitGroup
	bodies := make(chan string, 24)
	for i := range 24 {
		wg.Go(func() {
			start := time.Now()
			a, err := do(t.Context(), c.client, http.MethodGet, procs[i%3].URL+path, "")
			cold.add(a, err, time.Since(start))
			bodies <- a.Body
		})
	}
	wg.Wait()
	close(bodies)
	for b := range bodies {
		if !strings.HasPrefix(b, version(path, 1)+"render #") {
			t.Errorf("cold burst body %q, want v1", b)
		}
	}
	renders := c.origin.Renders(path)
	t.Logf("cold burst over slow Redis: %v, origin renders %d", &cold, renders)
	if len(cold.errors) > 0 || renders > len(procs) {
		t.Errorf("cold burst: errors %v, %d renders; want none and at most one per replica", cold.errors, renders)
	}

	c.origin.SetVersion(path, 2)
	start := time.Now()
	failed := 0
	eventually(t, "an eager revalidation over slow Redis", func() error {
		a := c.revalidate(t, procs[0].URL, "path="+path, "", "Authorization", "Bearer "+testSecret)
		if a.Status != http.StatusOK {
			failed++
			return fmt.Errorf("POST /api/revalidate = %v", a)
		}
		return nil
	})
	for _, p := range procs {
		eventually(t, p.Name+" serves v2", serves(t.Context(), c.client, p.URL+path, version(path, 2), ""))
	}
	t.Logf("eager revalidation to every replica serving v2: %v (%d revalidations answered 500 first)",
		time.Since(start).Round(time.Millisecond), failed)

	var steady tally
	for i := range 60 {
		start := time.Now()
		a, err := do(t.Context(), c.client, http.MethodGet, procs[i%3].URL+path, "")
		steady.add(a, err, time.Since(start))
		if err == nil && !strings.Contains(a.Body, version(path, 2)) {
			t.Errorf("GET after the revalidation = %v, want v2", a)
		}
	}
	t.Logf("steady state over slow Redis: %v", &steady)
	if len(steady.errors) > 0 {
		t.Errorf("steady state: errors %v", steady.errors)
	}
}

// testToxiPartition: replica A is cut off from Redis (packets
// dropped both ways, no RST) while B is not. A page is revalidated on B
// meanwhile. B serves the new page throughout; A answers every visitor
// with a 200 (its old copy, or a render it does not store) and no error;
// once the partition heals, A serves the new page from Redis again.
func testToxiPartition(t *testing.T, bin string) {
	c := newCluster(t)
	pa := newToxiProxy(t, "redis-A", c.redis.Addr())
	a := c.startProcess(t, bin, "A", redisVia(pa, nil))
	b := c.startProcess(t, bin, "B", nil)
	const path = "/toxi/partition"
	mustGet(t, c.client, b.URL+path)
	eventually(t, "A serves v1", serves(t.Context(), c.client, a.URL+path, version(path, 1), "HIT"))

	heal := partition(t, pa)
	c.origin.SetVersion(path, 2)
	c.revalidateOK(t, b.URL, "path="+path, "")
	var onA, onB tally
	seenV2 := false
	cut := time.Now()
	var lastHit time.Duration // the last v1 labelled HIT on A, since the cut
	for end := cut.Add(4 * time.Second); time.Now().Before(end); {
		for _, r := range []struct {
			p  *process
			ta *tally
		}{{a, &onA}, {b, &onB}} {
			start := time.Now()
			ans, err := do(t.Context(), c.client, http.MethodGet, r.p.URL+path, "")
			r.ta.add(ans, err, time.Since(start))
			switch {
			case err != nil || ans.Status != http.StatusOK:
			case r.p == b && !strings.Contains(ans.Body, version(path, 2)):
				t.Errorf("B during A's partition = %v, want v2", ans)
			case r.p == a && strings.Contains(ans.Body, version(path, 2)):
				seenV2 = true
			case r.p == a && ans.State == "HIT":
				lastHit = time.Since(cut)
			case r.p == a && !strings.Contains(ans.Body, version(path, 1)):
				t.Errorf("A during its partition = %v, want v1 or v2", ans)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("A, partitioned from Redis: %v (v2 seen: %v; last v1 labelled HIT %v after the cut)",
		&onA, seenV2, lastHit.Round(time.Millisecond))
	t.Logf("B, not partitioned: %v", &onB)
	if len(onA.errors)+len(onB.errors) > 0 {
		t.Errorf("errors during the partition: A %v, B %v", onA.errors, onB.errors)
	}
	heal()
	start := time.Now()
	eventually(t, "A serves v2 from Redis after the partition healed",
		serves(t.Context(), c.client, a.URL+path, version(path, 2)+"render #2", "HIT"))
	t.Logf("A recovered %v after the partition healed", time.Since(start).Round(time.Millisecond))
}
