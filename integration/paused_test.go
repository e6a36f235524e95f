package integration

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// testPausedLateWrite: replica process A regenerates a stale page, and its
// write is held in the network (Toxiproxy delays everything A sends to
// Redis) while A is paused with SIGSTOP, past its lock's TTL (6s). The
// lock expires; replica B regenerates the page and stores v3. Then A's
// write of v2 reaches Redis, late, and the fenced write script refuses it:
// Redis's MONITOR shows it run, the stored page stays B's v3 with B's
// generation. A, resumed, serves v3; no visitor ever sees v2 again.
func testPausedLateWrite(t *testing.T, bin string) {
	c := newCluster(t)
	pa := newToxiProxy(t, "redis-A", c.redis.Addr())
	a := c.startProcess(t, bin, "A", redisVia(pa, killedEnv()))
	b := c.startReplica(t, "B", replicaConfig{Options: killedOptions(nil)})
	const path = "/paused/late"
	mustGet(t, c.client, b.URL+path)
	c.origin.SetVersion(path, 2)
	c.revalidateOK(t, b.URL, "", `{"paths":["`+path+`"],"mode":"stale"}`)
	locks := watchLocks(t, c)
	mon := monitor(t, c)

	release := c.origin.Hold(t, path)
	if ans := mustGet(t, c.client, a.URL+path); ans.State != "STALE" {
		t.Fatalf("GET on A = %v, want STALE (and a regeneration)", ans)
	}
	eventually(t, "A's render waits at the origin", func() error {
		if n := c.origin.InFlight(path); n != 1 {
			return fmt.Errorf("in flight %d", n)
		}
		return nil
	})
	pages, err := c.admin.Keys(t.Context(), isrredis.DefaultPrefix+":p:*").Result()
	if err != nil || len(pages) != 1 {
		t.Fatalf("page hashes = %v, %v; want one", pages, err)
	}
	token, err := c.admin.HGet(t.Context(), pages[0], "fence").Int64()
	if err != nil {
		t.Fatalf("A's fencing token: %v", err)
	}
	slowWrites := addToxic(t, pa, "late", "latency", "upstream", map[string]any{"latency": 60_000})
	release()
	eventually(t, "A's write is sent and held in the network", func() error {
		if a.stdout.find("store write failed") == nil {
			return errors.New("A has not given up waiting for its write yet")
		}
		return nil
	})
	a.signal(t, syscall.SIGSTOP)
	var onB tally // B's visitors while A is paused
	eventually(t, "A's lock expired", func() error {
		start := time.Now()
		ans, err := do(t.Context(), c.client, "GET", b.URL+path, "")
		onB.add(ans, err, time.Since(start))
		return locks.expiredAt(0)()
	})
	if len(onB.errors) > 0 {
		t.Errorf("B's visitors while A was paused: %v", onB.errors)
	}

	c.origin.SetVersion(path, 3)
	eventually(t, "B regenerates the page", serves(t.Context(), c.client, b.URL+path, version(path, 3), "HIT"))
	stored := c.entry(t, path)
	if stored.Page.Gen <= token {
		t.Fatalf("B's page has generation %d, want above A's token %d", stored.Page.Gen, token)
	}
	slowWrites()
	eventually(t, "A's late write reaches Redis", func() error {
		if !slices.ContainsFunc(mon.lines(), func(l string) bool {
			return strings.Contains(strings.ToLower(l), `"evalsha"`) && strings.Contains(l, version(path, 2)+"render")
		}) {
			var seen []string // for the failure message
			for _, l := range mon.lines() {
				if strings.Contains(l, "paused") {
					seen = append(seen, l[:min(len(l), 160)])
				}
			}
			all := mon.lines()
			return fmt.Errorf("no write of v2 in MONITOR's output yet: %q (%d lines, last %q)", seen, len(all), all[max(0, len(all)-3):])
		}
		return nil
	})
	if e := c.entry(t, path); e.Page.Gen != stored.Page.Gen || !strings.Contains(string(e.Page.Body), version(path, 3)) {
		t.Errorf("after A's late write the stored page is %q gen %d, want B's %q gen %d",
			e.Page.Body, e.Page.Gen, stored.Page.Body, stored.Page.Gen)
	}
	a.signal(t, syscall.SIGCONT)
	eventually(t, "A serves v3", serves(t.Context(), c.client, a.URL+path, version(path, 3), ""))
	for _, r := range []string{a.URL, b.URL} {
		if ans := mustGet(t, c.client, r+path); !strings.Contains(ans.Body, version(path, 3)) {
			t.Errorf("GET %s = %v, want v3", r+path, ans)
		}
	}
	t.Logf("A's write (token %d) reached Redis after B's (generation %d) and was refused; lock events %v; B while A was paused: %v",
		token, stored.Page.Gen, locks.snapshot(), &onB)
}

// expiredAt is a cond for eventually: the lock event at index i is
// "expired".
func (le *lockEvents) expiredAt(i int) func() error {
	return func() error {
		if ev := le.snapshot(); len(ev) <= i+1 || ev[i] != "set" || ev[i+1] != "expired" {
			return fmt.Errorf("lock events %v, want set, expired at %d", ev, i)
		}
		return nil
	}
}

// monitorLog is the output of Redis's MONITOR since it started.
type monitorLog struct {
	mu  sync.Mutex
	out []string
}

func (m *monitorLog) lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.out)
}

// monitor records every command Redis runs from now on, until the end of
// the test. It speaks RESP itself: go-redis's MonitorCmd races.
func monitor(t *testing.T, c *cluster) *monitorLog {
	t.Helper()
	conn, err := net.Dial("tcp", c.redis.Addr())
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	if l, err := rd.ReadString('\n'); err != nil || l != "+OK\r\n" {
		t.Fatalf("MONITOR answered %q, %v", l, err)
	}
	m := &monitorLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			m.mu.Lock()
			m.out = append(m.out, strings.TrimSuffix(strings.TrimPrefix(l, "+"), "\r\n"))
			m.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
	})
	return m
}
