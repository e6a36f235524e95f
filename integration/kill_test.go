package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrredis"
)

// TestClusterReplicaKilled proves that a replica killed mid-render (C4, K2)
// degrades service, never correctness: a replica process of the
// cmd/isrcache binary (built once with -race) is SIGKILLed while it holds a
// page's lock and its render waits at the origin. Its lock is never
// released: it expires by its TTL (ISR_RENDER_TIMEOUT 1s + 5s = 6s), which
// Redis's keyspace events show ("expired", never "del"). Meanwhile the
// other replicas answer every visitor; afterwards exactly one of them
// renders the page, with a generation above the dead replica's token, and
// nothing is left behind. The subtests run in parallel, each with its own
// Redis and origin: most of their time is the wait for the lock's TTL.
func TestClusterReplicaKilled(t *testing.T) {
	bin := buildBinary(t)
	t.Run("cold page", func(t *testing.T) { t.Parallel(); testKilledCold(t, bin) })
	t.Run("stale page", func(t *testing.T) { t.Parallel(); testKilledStale(t, bin) })
	t.Run("eager revalidation", func(t *testing.T) { t.Parallel(); testKilledEager(t, bin) })
}

// testKilledCold: replica A takes the lock of a cold page, its render held
// at the origin; visitors of the page on replica B wait for A's write; A is
// SIGKILLed. B's visitors all get a 200 with one page B rendered: exactly
// one more origin request after A's. B either takes the lock once it
// expired, or, past its WaitTimeout (also 6s, started after A took the
// lock), renders without it; either way once for all its visitors.
func testKilledCold(t *testing.T, bin string) {
	c := newCluster(t)
	locks := watchLocks(t, c)
	a := c.startProcess(t, bin, "A", killedEnv())
	var bLocks *lockCounter
	b := c.startReplica(t, "B", replicaConfig{Options: killedOptions(nil),
		Wrap: func(_ string, be *isrredis.Backend) isr.Backend {
			bLocks = &lockCounter{Backend: be}
			return bLocks
		}})
	const path = "/killed/cold"
	release := c.origin.Hold(t, path)
	aVisit := make(chan error, 1)
	go func() {
		_, err := do(t.Context(), c.client, http.MethodGet, a.URL+path, "")
		aVisit <- err
	}()
	token := freezeRendering(t, c, a, path)

	const visitors = 8
	type result struct {
		a   answer
		err error
	}
	results := make(chan result, visitors)
	for range visitors {
		go func() {
			a, err := do(t.Context(), c.client, http.MethodGet, b.URL+path, "")
			results <- result{a, err}
		}()
	}
	eventually(t, "B's visitors wait for A's lock", func() error {
		if n := bLocks.busy.Load(); n == 0 {
			return fmt.Errorf("B found the lock busy %d times", n)
		}
		return nil
	})
	if len(results) > 0 || bLocks.got.Load() > 0 {
		t.Fatalf("before A was killed: %d of B's visitors answered, B took the lock %d times; want 0 and 0",
			len(results), bLocks.got.Load())
	}
	kill(t, c, a, path)
	release()

	var body string
	for range visitors {
		r := <-results
		if r.err != nil || r.a.Status != http.StatusOK || !strings.Contains(r.a.Body, version(path, 1)) {
			t.Fatalf("B's visitor got %v, %v; want 200 with %q", r.a, r.err, version(path, 1))
		}
		if body == "" {
			body = r.a.Body
		} else if r.a.Body != body {
			t.Errorf("B's visitors got different pages: %q and %q", body, r.a.Body)
		}
	}
	if err := <-aVisit; err == nil {
		t.Errorf("A's visitor got an answer from the killed replica, want a connection error")
	}
	if s, n := c.origin.Renders(path), c.origin.Answered(path); s != 2 || n != 1 {
		t.Errorf("origin requests for %s = %d (rendered %d), want 2 (A's abandoned, B's rendered)", path, s, n)
	}
	withLock, without := bLocks.got.Load(), strings.Count(b.Logs.String(), "rendering without the lock")
	if withLock+int64(without) != 1 {
		t.Errorf("B took the lock %d times and rendered without it %d times, want one render in all", withLock, without)
	}
	t.Logf("B rendered %s the lock (it found it busy %d times)",
		map[bool]string{true: "under", false: "past its WaitTimeout, without"}[withLock == 1], bLocks.busy.Load())
	eventually(t, "A's lock expired, never released", locks.expiredOnce)
	checkLeftBehind(t, c, path, body, token)
}

// testKilledStale: replica A regenerates a stale page, its render held at
// the origin, and is SIGKILLed. B keeps serving the old page as STALE
// (every answer a 200); once A's lock expired, B's next stale visit
// regenerates it, once, and every replica then serves the new page.
func testKilledStale(t *testing.T, bin string) {
	c := newCluster(t)
	a := c.startProcess(t, bin, "A", killedEnv())
	bRegens := &regenCounter{}
	b := c.startReplica(t, "B", replicaConfig{Options: killedOptions(bRegens)})
	third := c.startReplica(t, "C", replicaConfig{Options: killedOptions(nil)})
	const path = "/killed/stale"
	mustGet(t, c.client, b.URL+path)
	c.origin.SetVersion(path, 2)
	c.revalidateOK(t, b.URL, "", `{"paths":["`+path+`"],"mode":"stale"}`)

	locks := watchLocks(t, c)
	release := c.origin.Hold(t, path)
	eventually(t, "A serves the page STALE", serves(t.Context(), c.client, a.URL+path, version(path, 1), "STALE"))
	token := freezeRendering(t, c, a, path)
	for _, r := range []*replica{b, third} {
		eventually(t, r.Name+" serves the old page STALE while A holds the lock",
			serves(t.Context(), c.client, r.URL+path, version(path, 1), "STALE"))
	}
	kill(t, c, a, path)
	release()

	// B answers every visit: STALE with the old page until it regenerates.
	stale := 0
	eventually(t, "B serves the new page", func() error {
		ans := mustDo(t, c.client, http.MethodGet, b.URL+path, "")
		switch {
		case ans.Status == http.StatusOK && ans.State == "STALE" && strings.Contains(ans.Body, version(path, 1)):
			stale++
			return fmt.Errorf("GET = %v (STALE answers so far: %d)", ans, stale)
		case ans.Status == http.StatusOK && ans.State == "HIT" && strings.Contains(ans.Body, version(path, 2)):
			return nil
		}
		t.Fatalf("GET %s on B after A was killed = %v, want 200 STALE v1 or HIT v2", path, ans)
		return nil
	})
	for _, r := range []*replica{b, third} {
		eventually(t, r.Name+" serves the new page", serves(t.Context(), c.client, r.URL+path, version(path, 2), "HIT"))
	}
	if s, n := c.origin.Renders(path), c.origin.Answered(path); s != 3 || n != 2 {
		t.Errorf("origin requests for %s = %d (rendered %d), want 3: v1, A's abandoned, B's regeneration", path, s, n)
	}
	if w, f, busy := bRegens.count(isr.RegenWritten), bRegens.count(isr.RegenFailed), bRegens.count(isr.RegenBusy); w != 1 || f != 0 || busy == 0 {
		t.Errorf("B's regenerations: %d written, %d failed, %d busy; want 1, 0, at least 1", w, f, busy)
	}
	eventually(t, "A's lock expired, never released", locks.expiredOnce)
	checkLeftBehind(t, c, path, version(path, 2), token)
}

// testKilledEager: replica A is SIGKILLed while it regenerates a page for
// an eager POST /api/revalidate. The caller gets a connection error; B
// serves the page STALE meanwhile (A had marked it stale before rendering);
// once A's lock expired, the caller's retry on B regenerates the page.
func testKilledEager(t *testing.T, bin string) {
	c := newCluster(t)
	a := c.startProcess(t, bin, "A", killedEnv())
	b := c.startReplica(t, "B", replicaConfig{Options: killedOptions(nil)})
	const path = "/killed/eager"
	mustGet(t, c.client, b.URL+path)
	c.origin.SetVersion(path, 2)

	locks := watchLocks(t, c)
	release := c.origin.Hold(t, path)
	posted := make(chan error, 1)
	go func() {
		ans, err := do(t.Context(), c.client, http.MethodPost, a.URL+"/api/revalidate?path="+path, "",
			"Authorization", "Bearer "+testSecret)
		if err == nil {
			err = fmt.Errorf("answered %v", ans)
		}
		posted <- err
	}()
	token := freezeRendering(t, c, a, path)
	eventually(t, "B serves the old page STALE while A holds the lock",
		serves(t.Context(), c.client, b.URL+path, version(path, 1), "STALE"))
	kill(t, c, a, path)
	release()
	err := <-posted
	if strings.HasPrefix(err.Error(), "answered") {
		t.Errorf("POST /api/revalidate on A: %v; want a connection error", err)
	}

	// The caller retries on B once A's lock is gone. (A retry at once would
	// wait for the lock, for at most WaitTimeout: 6s, the lock's TTL; but
	// lockWait polls every 250ms and makes no last try at its deadline, so
	// a retry started within a poll interval of A taking the lock misses its
	// expiry and fails with "locked by another holder".)
	eventually(t, "A's lock expired, never released", locks.expiredOnce)
	res := c.revalidateOK(t, b.URL, "path="+path, "")
	if len(res.Results) != 1 || res.Results[0].Result != string(isr.ResultRegenerated) {
		t.Errorf("revalidate retried on B = %+v, want regenerated", res.Results)
	}
	eventually(t, "B serves the new page", serves(t.Context(), c.client, b.URL+path, version(path, 2), "HIT"))
	if s, n := c.origin.Renders(path), c.origin.Answered(path); s != 3 || n != 2 {
		t.Errorf("origin requests for %s = %d (rendered %d), want 3: v1, A's abandoned, B's regeneration", path, s, n)
	}
	eventually(t, "every later lock was released", locks.expiredOnce)
	checkLeftBehind(t, c, path, version(path, 2), token)
}
