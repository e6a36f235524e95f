package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrbreaker"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// TestClusterRedisHang proves that a hung Redis (SIGSTOP: connections stay
// open, nothing answers) degrades service without stalling it (R2), with
// each replica's backend behind an isrbreaker.Breaker as cmd/isrcache wires it.
// Under the breaker a counter records every store and lock call that
// reaches the Redis backend.
//
// With Redis paused, each replica answers its warm page 200 STALE from the
// hot cache and a cold page 200 MISS, not stored (rendered once per replica:
// its next visitors get that render); its breaker opens. Then,
// structurally: while both breakers are open, a series of requests is
// served with Redis still paused and not one call reaches the Redis
// backend, so no answer can have waited for Redis. /readyz stays 200.
// Once Redis resumes and the cooldown is over (the breakers' clock is a
// test clock, advanced by hand: it stands still while Redis hangs, so the
// breakers cannot half-open then), the next call probes, the breakers
// close, and pages are stored and shared again.
func TestClusterRedisHang(t *testing.T) {
	c := newCluster(t)
	clock := isrtest.NewClock(time.Now())
	var (
		breakers = map[string]*isrbreaker.Breaker{} // written by Wrap, in this goroutine
		calls    = map[string]*countingBackend{}
		mu       sync.Mutex // guards changes; never held while calling a breaker
		changes  []string
	)
	reps := c.startReplicas(t, 2, replicaConfig{
		Options: isr.Options{L1MaxAge: 200 * time.Millisecond},
		Wrap: func(name string, b *isrredis.Backend) isr.Backend {
			calls[name] = &countingBackend{Backend: b}
			breakers[name] = isrbreaker.New(calls[name], isrbreaker.Options{Now: clock.Now,
				OnStateChange: func(from, to isrbreaker.State) {
					mu.Lock()
					defer mu.Unlock()
					changes = append(changes, name+" "+from.String()+">"+to.String())
				}})
			return breakers[name]
		},
	})
	// reached returns how many calls reached the Redis backends so far.
	reached := func() (n int64) {
		for _, cb := range calls {
			n += cb.n.Load()
		}
		return n
	}
	v1 := mustGet(t, c.client, reps[0].URL+"/warm").Body
	if a := mustGet(t, c.client, reps[1].URL+"/warm"); a.Body != v1 || a.Header.Get("X-ISR-Cache") != "HIT" {
		t.Fatalf("GET /warm on r2 before the hang = %v, want a HIT of %q", a, v1)
	}

	c.redis.Pause()
	t.Cleanup(c.redis.Resume) // before the replicas stop, if the test fails early
	for _, r := range reps {
		eventually(t, r.Name+" serves STALE from its hot cache and its breaker opens", func() error {
			if err := checkDegraded(t.Context(), c, r, "/warm", v1); err != nil {
				return err
			}
			if s := breakers[r.Name].State(); s != isrbreaker.Open {
				return fmt.Errorf("breaker %v, want open", s)
			}
			return nil
		})
	}

	before, renders := reached(), c.origin.Renders("/cold-0")
	for i := range 10 {
		for _, r := range reps {
			if err := checkDegraded(t.Context(), c, r, "/warm", v1); err != nil {
				t.Fatalf("%s, breaker open, round %d: %v", r.Name, i, err)
			}
			if err := checkDegraded(t.Context(), c, r, fmt.Sprintf("/cold-%d", i%2), ""); err != nil {
				t.Fatalf("%s, breaker open, round %d: %v", r.Name, i, err)
			}
			if a := mustGet(t, c.client, r.URL+"/readyz"); a.Status != 200 {
				t.Fatalf("%s: /readyz with Redis hung = %d, want 200", r.Name, a.Status)
			}
		}
	}
	if n := reached() - before; n != 0 {
		t.Fatalf("%d store or lock calls reached the hung Redis while the breakers were open, want 0", n)
	}
	if got := c.origin.Renders("/cold-0") - renders; got != len(reps) {
		t.Errorf("/cold-0 rendered %d times while Redis hung, want %d: one per replica, whose later visitors get that render (no render storm)", got, len(reps))
	}
	for _, r := range reps {
		if s := breakers[r.Name].State(); s != isrbreaker.Open {
			t.Fatalf("%s: breaker %v after the requests, want still open (its clock did not move)", r.Name, s)
		}
	}

	c.redis.Resume()
	eventually(t, "pages stored and shared again", func() error {
		// Past any cooldown: a probe that still failed (a connection the
		// hang broke) is retried at the next call.
		clock.Advance(isrbreaker.DefaultMaxCooldown)
		a, err := do(t.Context(), c.client, http.MethodGet, reps[0].URL+"/after", "")
		if err != nil || a.Status != 200 {
			return fmt.Errorf("GET /after on r1 = %v, %v", a, err)
		}
		b, err := do(t.Context(), c.client, http.MethodGet, reps[1].URL+"/after", "")
		if err != nil || b.Header.Get("X-ISR-Cache") != "HIT" || b.Body != a.Body {
			return fmt.Errorf("GET /after on r2 = %v, %v; want a HIT of r1's page", b, err)
		}
		return nil
	})
	for _, r := range reps {
		if s := breakers[r.Name].State(); s != isrbreaker.Closed {
			t.Errorf("%s: breaker %v once Redis is back, want closed", r.Name, s)
		}
		mu.Lock()
		got := strings.Join(filter(changes, r.Name+" "), ",")
		mu.Unlock()
		// Failed probes after Resume, if any, add "half-open>open,open>half-open".
		start := r.Name + " closed>open," + r.Name + " open>half-open,"
		if !strings.HasPrefix(got, start) || !strings.HasSuffix(got, ","+r.Name+" half-open>closed") ||
			strings.Count(got, "closed>") != 1 {
			t.Errorf("%s: breaker transitions %s, want closed>open, open>half-open, then half-open>closed", r.Name, got)
		}
	}
}

// checkDegraded checks what r answers for path while Redis hangs: want
// (the page it had seen) as a 200 STALE, or, if want is empty, a 200 MISS
// rendered at the origin and not stored, or that render again (kept by the
// replica: HIT, then STALE).
func checkDegraded(ctx context.Context, c *cluster, r *replica, path, want string) error {
	a, err := do(ctx, c.client, http.MethodGet, r.URL+path, "")
	switch {
	case err != nil:
		return err
	case a.Status != 200:
		return fmt.Errorf("GET %s = %v, want 200", path, a)
	case want != "" && (a.Body != want || a.Header.Get("X-ISR-Cache") != "STALE"):
		return fmt.Errorf("GET %s = %v %s, want a STALE %q", path, a, a.Header.Get("X-ISR-Cache"), want)
	case want == "" && a.State == "MISS" && a.Header.Get("Cache-Status") != "isrcache; fwd=uri-miss; detail=not-stored-store-unavailable":
		return fmt.Errorf("GET %s = %v %q, want a MISS not stored", path, a, a.Header.Get("Cache-Status"))
	case want == "" && a.State != "MISS" && a.State != "HIT" && a.State != "STALE":
		return fmt.Errorf("GET %s = %v, want a MISS, or its render kept", path, a)
	case want == "" && !strings.HasPrefix(a.Body, version(path, 1)):
		return fmt.Errorf("GET %s = %v, want the origin's render", path, a)
	}
	return nil
}

func filter(ss []string, prefix string) []string {
	var out []string
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// countingBackend counts the store and lock calls that reach a Redis
// backend (a lock's Refresh and Release included). Listen is not counted:
// the event bus is not behind the breaker.
type countingBackend struct {
	*isrredis.Backend
	n atomic.Int64
}

func (b *countingBackend) Get(ctx context.Context, key string) (*isr.Entry, error) {
	b.n.Add(1)
	return b.Backend.Get(ctx, key)
}

func (b *countingBackend) Token(ctx context.Context, key string) (int64, error) {
	b.n.Add(1)
	return b.Backend.Token(ctx, key)
}

func (b *countingBackend) Put(ctx context.Context, key string, token int64, p *isr.Page, ttl time.Duration) (bool, error) {
	b.n.Add(1)
	return b.Backend.Put(ctx, key, token, p, ttl)
}

func (b *countingBackend) Invalidate(ctx context.Context, mode isr.Mode, keys ...string) ([]bool, error) {
	b.n.Add(1)
	return b.Backend.Invalidate(ctx, mode, keys...)
}

func (b *countingBackend) TagKeys(ctx context.Context, tag string) ([]string, error) {
	b.n.Add(1)
	return b.Backend.TagKeys(ctx, tag)
}

func (b *countingBackend) TryLock(ctx context.Context, key string, ttl time.Duration) (isr.Lock, error) {
	b.n.Add(1)
	l, err := b.Backend.TryLock(ctx, key, ttl)
	if err != nil {
		return nil, err
	}
	return countingLock{l, &b.n}, nil
}

func (b *countingBackend) TryLockToken(ctx context.Context, key string, ttl time.Duration) (isr.Lock, *isr.Entry, int64, error) {
	b.n.Add(1)
	l, e, token, err := b.Backend.TryLockToken(ctx, key, ttl)
	if l != nil {
		l = countingLock{l, &b.n}
	}
	return l, e, token, err
}

type countingLock struct {
	l isr.Lock
	n *atomic.Int64
}

func (l countingLock) Refresh(ctx context.Context, ttl time.Duration) error {
	l.n.Add(1)
	return l.l.Refresh(ctx, ttl)
}

func (l countingLock) Release(ctx context.Context) error {
	l.n.Add(1)
	return l.l.Release(ctx)
}
