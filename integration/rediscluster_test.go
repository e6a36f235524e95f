package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/isrcache/isrcache/internal/redistest"
	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// faultPages is how many pages the fault tests keep under load.
const faultPages = 48

// newRedisCluster starts a Redis Cluster (three masters with a replica
// each) and an origin for t.
func newRedisCluster(t *testing.T) (*cluster, *redistest.Cluster) {
	t.Helper()
	rc := redistest.StartCluster(t)
	return &cluster{redisURL: rc.URL(), mode: isrredis.ModeCluster, admin: rc.Client(t),
		origin: newOrigin(t), client: newClient(t)}, rc
}

// newSentinelGroup starts a Sentinel group (a primary, a replica, three
// sentinels) and an origin for t.
func newSentinelGroup(t *testing.T) (*cluster, *redistest.Sentinels) {
	t.Helper()
	g := redistest.StartSentinel(t)
	return &cluster{redisURL: g.URL(), mode: isrredis.ModeSentinel, admin: g.Servers[0].Client(t),
		origin: newOrigin(t), client: newClient(t)}, g
}

// load visits pages from a few clients, round robin over the replicas,
// until stopped, and records what they were answered.
type load struct {
	mu     sync.Mutex
	states map[string]int
	bad    []string // answers that were not a 200 page of the path asked
	stop   chan struct{}
	done   sync.WaitGroup
}

// startLoad starts 4 clients visiting paths; stop them with finish.
func startLoad(t *testing.T, c *cluster, reps []*replica, paths []string) *load {
	l := &load{states: map[string]int{}, stop: make(chan struct{})}
	for w := range 4 {
		l.done.Go(func() {
			for i := w; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				p := paths[i%len(paths)]
				a, err := do(context.WithoutCancel(t.Context()), c.client, http.MethodGet, reps[i%len(reps)].URL+p, "")
				l.mu.Lock()
				if err != nil || a.Status != http.StatusOK || !strings.HasPrefix(a.Body, p+" v") {
					l.bad = append(l.bad, fmt.Sprintf("GET %s: %v %v", p, a, err))
				}
				l.states[a.State]++
				l.mu.Unlock()
			}
		})
	}
	t.Cleanup(func() { l.finish() })
	return l
}

// finish stops the clients and returns the answers' states and the bad
// answers.
func (l *load) finish() (map[string]int, []string) {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.done.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.states, l.bad
}

// faultWorld starts three replicas on c, fills faultPages pages through
// them and returns the replicas and the paths.
func faultWorld(t *testing.T, c *cluster) ([]*replica, []string) {
	reps := c.startReplicas(t, 3, replicaConfig{Budget: isr.DefaultRegenBudget})
	paths := make([]string, faultPages)
	for i := range paths {
		paths[i] = fmt.Sprintf("/fault/%d", i)
		mustGet(t, c.client, reps[i%3].URL+paths[i])
	}
	return reps, paths
}

// revalidateStale marks path stale through reps[0] and checks the answer.
func revalidateStale(t *testing.T, c *cluster, reps []*replica, path string) {
	t.Helper()
	r := c.revalidateOK(t, reps[0].URL, "mode=stale&path="+path, "")
	if len(r.Results) != 1 || r.Results[0].Result != string(isr.ResultStale) {
		t.Fatalf("revalidate %s: %+v", path, r)
	}
}

// checkRevalidationKept checks that the revalidation of path acknowledged
// before a fault survived it: the page in Redis is stale, or newer than
// gen (regenerated since).
func checkRevalidationKept(t *testing.T, c *cluster, path string, gen int64) {
	t.Helper()
	var e *isr.Entry
	eventually(t, "a read of "+path+" from Redis", func() error {
		// The admin client may still route to a node that died.
		var err error
		e, err = c.store().Get(t.Context(), path)
		if errors.Is(err, isr.ErrNotFound) {
			e, err = nil, nil
		}
		return err
	})
	if e == nil || (!e.Stale() && e.Page.Gen <= gen) {
		t.Fatalf("%s after the fault: %+v; the acknowledged revalidation was undone (page gen %d)", path, e, gen)
	}
}

// slotOf returns the hash slot of path's page.
func slotOf(t *testing.T, c *cluster, path string) int {
	t.Helper()
	slot, err := c.admin.ClusterKeySlot(t.Context(), c.store().PageKey(path)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(slot)
}

// checkLoad stops l and fails the test on any bad answer; with noMiss, a
// page rendered again from scratch (MISS) fails it too.
func checkLoad(t *testing.T, what string, l *load, noMiss bool) {
	t.Helper()
	states, bad := l.finish()
	t.Logf("%s: answers by state %v", what, states)
	if len(bad) > 0 {
		t.Fatalf("%s: %d bad answers, first %v", what, len(bad), bad[:min(3, len(bad))])
	}
	if noMiss && states["MISS"] > 0 {
		t.Fatalf("%s: %d MISS answers for stored pages", what, states["MISS"])
	}
}

// TestRedisClusterFaults runs three replicas on a Redis Cluster under load
// through a coordinated failover (CLUSTER FAILOVER), a slot migration
// (MOVED/ASK) and a master SIGKILLed. Throughout, every visit is answered
// with the page; a revalidation acknowledged before each fault is still in
// force after it; after each, a revalidation reaches every replica.
func TestRedisClusterFaults(t *testing.T) {
	c, rc := newRedisCluster(t)
	reps, paths := faultWorld(t, c)

	fault := func(name, path string, noMiss bool, do func(slot int)) {
		gen := c.entry(t, path).Page.Gen
		l := startLoad(t, c, reps, paths)
		revalidateStale(t, c, reps, path)
		do(slotOf(t, c, path))
		checkRevalidationKept(t, c, path, gen)
		checkLoad(t, name, l, noMiss)
		// Writes and events flow again: a revalidation reaches every
		// replica, and the page is regenerated.
		c.origin.SetVersion(path, 2)
		c.revalidateOK(t, reps[1].URL, "path="+path, "")
		for _, r := range reps {
			eventually(t, name+": "+r.Name+" serves v2 of "+path, serves(t.Context(), c.client, r.URL+path, version(path, 2), ""))
		}
		c.origin.SetVersion(path, 1)
	}
	fault("CLUSTER FAILOVER", paths[0], true, func(slot int) { rc.Failover(slot) })
	fault("slot migration", paths[1], true, func(slot int) {
		dst := 0
		for rc.Master(dst) == rc.Master(slot) {
			dst += 5461 // the next master's range
		}
		rc.MigrateSlot(slot, dst)
	})
	fault("SIGKILL of a master", paths[2], false, func(slot int) { rc.KillMaster(slot) })
	for _, r := range reps {
		t.Logf("%s: backend %+v, hot cache flushes %v", r.Name, r.Backend.Stats(), r.Handler.Stats().L1Flushes)
	}
}

// TestRedisSentinelFailover runs three replicas on a Sentinel group under
// load through SENTINEL FAILOVER: every visit is answered with the page, a
// revalidation acknowledged before it is in force after it, and writes and
// events reach every replica from the new primary. Each replica hears of
// the switch and flushes its hot cache.
func TestRedisSentinelFailover(t *testing.T) {
	c, g := newSentinelGroup(t)
	reps, paths := faultWorld(t, c)
	path := paths[0]
	gen := c.entry(t, path).Page.Gen
	flushes := func(r *replica) (n int) {
		for _, v := range r.Handler.Stats().L1Flushes {
			n += v
		}
		return n
	}
	before := make([]int, len(reps))
	for i, r := range reps {
		before[i] = flushes(r)
	}
	l := startLoad(t, c, reps, paths)
	revalidateStale(t, c, reps, path)
	now := g.Failover()
	c.admin = now.Client(t)
	checkRevalidationKept(t, c, path, gen)
	checkLoad(t, "SENTINEL FAILOVER", l, false)
	c.origin.SetVersion(path, 2)
	c.revalidateOK(t, reps[1].URL, "path="+path, "")
	for _, r := range reps {
		eventually(t, r.Name+" serves v2", serves(t.Context(), c.client, r.URL+path, version(path, 2), ""))
	}
	for i, r := range reps {
		eventually(t, r.Name+" flushes its hot cache", func() error {
			if flushes(r) == before[i] {
				return fmt.Errorf("no flush since the failover: %v", r.Handler.Stats().L1Flushes)
			}
			return nil
		})
	}
}

// TestRedisClusterProcesses runs two isrcache processes configured only by
// the environment with a cluster URL (ISR_REDIS_MODE left to detection, one
// seed and one addr= seed): both name the mode they detected, a page
// rendered through one is a HIT on the other, and a revalidation sent to
// one reaches the other.
func TestRedisClusterProcesses(t *testing.T) {
	bin := buildBinary(t)
	c, _ := newRedisCluster(t)
	env := map[string]string{"ISR_L1_MAX_AGE": "1m", "ISR_REVALIDATE": "3600"}
	p1 := c.startProcess(t, bin, "p1", env)
	p2 := c.startProcess(t, bin, "p2", env)
	for _, p := range []*process{p1, p2} {
		if l := p.stdout.find("redis connected"); l == nil || l["mode"] != "cluster" {
			t.Fatalf("%s: redis connected line %v, want mode cluster", p.Name, l)
		}
	}
	const path = "/proc"
	if a := mustGet(t, c.client, p1.URL+path); a.State != "MISS" {
		t.Fatalf("first visit on p1: %v, want a MISS", a)
	}
	eventually(t, "p2 serves v1", serves(t.Context(), c.client, p2.URL+path, version(path, 1), "HIT"))
	c.origin.SetVersion(path, 2)
	c.revalidateOK(t, p1.URL, "path="+path, "")
	for _, p := range []*process{p1, p2} {
		eventually(t, p.Name+" serves v2", serves(t.Context(), c.client, p.URL+path, version(path, 2), "HIT"))
	}
	if n := c.origin.Renders(path); n != 2 {
		t.Fatalf("origin rendered %s %d times, want 2 (one per version)", path, n)
	}
}
