package integration

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// Harness of kill_test.go: replicas SIGKILLed while they hold a lock, and
// what Redis and the survivors show afterwards.

// killedRenderTimeout is every replica's render timeout in kill_test.go:
// the lock TTL is this plus 5s (6s), and so is a cold-miss visitor's wait.
const killedRenderTimeout = time.Second

// killedEnv configures the replica processes of kill_test.go.
func killedEnv() map[string]string {
	return map[string]string{"ISR_RENDER_TIMEOUT": "1s", "ISR_REVALIDATE": "3600"}
}

// killedOptions are the options of the in-process replicas of kill_test.go:
// the same as killedEnv's (LockTTL and WaitTimeout are the defaults, 6s).
func killedOptions(obs isr.Observer) isr.Options {
	return isr.Options{Revalidate: time.Hour, RenderTimeout: killedRenderTimeout, Observer: obs}
}

// lockEvents records, in order, the keyspace events of the regeneration
// locks in Redis: "set" when a replica takes one, "del" when its holder
// releases it, "expired" when Redis drops it at the end of its TTL.
type lockEvents struct {
	mu     sync.Mutex
	events []string
}

// watchLocks turns on Redis keyspace notifications and records the lock
// events from now on, until the end of the test.
func watchLocks(t *testing.T, c *cluster) *lockEvents {
	t.Helper()
	ctx := t.Context()
	if err := c.admin.ConfigSet(ctx, "notify-keyspace-events", "Kg$x").Err(); err != nil {
		t.Fatalf("CONFIG SET notify-keyspace-events: %v", err)
	}
	ps := c.admin.PSubscribe(ctx, "__keyspace@*__:"+isrredis.DefaultPrefix+":l:*")
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatalf("PSUBSCRIBE to the lock keyspace events: %v", err)
	}
	le := &lockEvents{}
	ch := ps.Channel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range ch {
			if m.Payload == "set" || m.Payload == "del" || m.Payload == "expired" {
				le.mu.Lock()
				le.events = append(le.events, m.Payload)
				le.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		_ = ps.Close()
		<-done
	})
	return le
}

func (le *lockEvents) snapshot() []string {
	le.mu.Lock()
	defer le.mu.Unlock()
	return slices.Clone(le.events)
}

// expiredOnce is a cond for eventually: the first lock taken since
// watchLocks (the killed replica's) was never released but expired, and
// every later lock was released by its holder.
func (le *lockEvents) expiredOnce() error {
	ev := le.snapshot()
	if len(ev) < 2 || ev[0] != "set" || ev[1] != "expired" {
		return fmt.Errorf("lock events %v, want [set expired ...]: the killed replica's lock must expire, not be released", ev)
	}
	for i := 2; i < len(ev); i += 2 {
		if i+1 >= len(ev) || ev[i] != "set" || ev[i+1] != "del" {
			return fmt.Errorf("lock events %v, want [set expired] then set-del pairs: a later lock was not released", ev)
		}
	}
	return nil
}

// freezeRendering waits until p's render of path is held at the origin and
// stops p there (SIGSTOP): from then on p neither gives up its render
// (killedRenderTimeout) nor releases its lock, as if it had died, until the
// test kills it. It checks that p holds the only lock, with a TTL of at most
// 6s, and returns the fencing token p took for its render.
func freezeRendering(t *testing.T, c *cluster, p *process, path string) (token int64) {
	t.Helper()
	eventually(t, p.Name+"'s render of "+path+" waits at the origin", func() error {
		if n := c.origin.InFlight(path); n != 1 {
			return fmt.Errorf("origin requests in flight for %s = %d, want 1", path, n)
		}
		return nil
	})
	p.signal(t, syscall.SIGSTOP)
	ctx := t.Context()
	locks, err := c.lockKeys(ctx)
	if err != nil || len(locks) != 1 {
		t.Fatalf("locks while %s renders = %v, %v; want one", p.Name, locks, err)
	}
	if ttl := c.admin.PTTL(ctx, locks[0]).Val(); ttl <= 0 || ttl > killedRenderTimeout+5*time.Second {
		t.Fatalf("TTL of %s's lock = %v, want at most 6s (ISR_RENDER_TIMEOUT + 5s)", p.Name, ttl)
	}
	pages, err := c.admin.Keys(ctx, isrredis.DefaultPrefix+":p:*").Result()
	if err != nil || len(pages) != 1 {
		t.Fatalf("page hashes = %v, %v; want one", pages, err)
	}
	token, err = c.admin.HGet(ctx, pages[0], "fence").Int64()
	if err != nil {
		t.Fatalf("fence counter of %s: %v", pages[0], err)
	}
	return token
}

// kill SIGKILLs p, waits until it died of it and until the origin saw the
// connection of its held render close.
func kill(t *testing.T, c *cluster, p *process, path string) {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(eventuallyTimeout):
		t.Fatalf("%s did not die within %v of SIGKILL", p.Name, eventuallyTimeout)
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() ||
		ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("%s exited with %v, want killed by SIGKILL", p.Name, p.err)
	}
	eventually(t, "the origin sees "+p.Name+"'s render abandoned", func() error {
		if n := c.origin.InFlight(path); n != 0 {
			return fmt.Errorf("origin requests in flight for %s = %d, want 0", path, n)
		}
		return nil
	})
}

// checkLeftBehind checks what the killed replica left in Redis once the
// survivors are done: no lock, one page hash (path's), its page carrying
// want and a generation above token, the killed replica's fencing token.
func checkLeftBehind(t *testing.T, c *cluster, path, want string, token int64) {
	t.Helper()
	ctx := t.Context()
	eventually(t, "every lock is gone", func() error {
		locks, err := c.lockKeys(ctx)
		if err == nil && len(locks) > 0 {
			err = fmt.Errorf("locks left: %v", locks)
		}
		return err
	})
	if pages, err := c.admin.Keys(ctx, isrredis.DefaultPrefix+":p:*").Result(); err != nil || len(pages) != 1 {
		all, _ := c.admin.Keys(ctx, "*").Result()
		t.Errorf("page hashes = %v, %v; want one (all keys: %v)", pages, err, all)
	}
	e := c.entry(t, path)
	switch {
	case e == nil:
		t.Errorf("no page stored for %s", path)
	case !strings.Contains(string(e.Page.Body), want) || e.Page.Gen <= token:
		t.Errorf("page stored for %s = %q gen %d, want %q with a generation above the killed replica's token %d",
			path, e.Page.Body, e.Page.Gen, want, token)
	}
}

// lockCounter is a Redis backend that counts the outcomes of its lock
// requests: TryLock, and TryLockToken (a cold fill's).
type lockCounter struct {
	*isrredis.Backend
	got, busy atomic.Int64
}

func (b *lockCounter) TryLock(ctx context.Context, key string, ttl time.Duration) (isr.Lock, error) {
	l, err := b.Backend.TryLock(ctx, key, ttl)
	b.count(l, err)
	return l, err
}

func (b *lockCounter) TryLockToken(ctx context.Context, key string, ttl time.Duration) (isr.Lock, *isr.Entry, int64, error) {
	l, e, token, err := b.Backend.TryLockToken(ctx, key, ttl)
	b.count(l, err)
	return l, e, token, err
}

func (b *lockCounter) count(l isr.Lock, err error) {
	switch {
	case l != nil:
		b.got.Add(1)
	case errors.Is(err, isr.ErrLocked):
		b.busy.Add(1)
	}
}

// regenCounter is an isr.Observer counting regeneration outcomes.
type regenCounter struct {
	mu sync.Mutex
	n  map[isr.RegenOutcome]int
}

func (o *regenCounter) Regeneration(outcome isr.RegenOutcome, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[isr.RegenOutcome]int{}
	}
	o.n[outcome]++
}

func (o *regenCounter) LockWait(time.Duration) {}

func (o *regenCounter) count(outcome isr.RegenOutcome) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[outcome]
}
