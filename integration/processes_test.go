package integration

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
)

// TestClusterProcesses runs the claims that need real replica processes
// against the cmd/isrcache binary, built once with -race.
func TestClusterProcesses(t *testing.T) {
	bin := buildBinary(t)
	t.Run("revalidate across processes", func(t *testing.T) { testProcessRevalidate(t, bin) })
	t.Run("SIGTERM drains and releases locks", func(t *testing.T) { testProcessSIGTERM(t, bin) })
}

// testProcessRevalidate proves, on two replica processes configured only by
// the environment, that a revalidation on one (token in the query string)
// reaches the other's hot cache (a minute's maximum age) through pub/sub;
// that the endpoint's guard holds (checkRevalidateGuard); and that the
// token appears in neither process's stdout or stderr, although the request
// line was logged (with its query left out).
func testProcessRevalidate(t *testing.T, bin string) {
	c := newCluster(t)
	// The guard's checks below send more requests than the default rate
	// limit lets one address send; the limit has tests of its own.
	env := map[string]string{"ISR_L1_MAX_AGE": "1m", "ISR_REVALIDATE": "3600", "ISR_REVALIDATE_RATE": "0"}
	p1 := c.startProcess(t, bin, "p1", env)
	p2 := c.startProcess(t, bin, "p2", env)
	const path = "/proc"
	for _, p := range []*process{p1, p2} {
		mustGet(t, c.client, p.URL+path)
		eventually(t, p.Name+" serves v1", serves(t.Context(), c.client, p.URL+path, version(path, 1), "HIT"))
	}
	c.origin.SetVersion(path, 2)
	a := c.revalidate(t, p1.URL, url.Values{"secret": {testSecret}, "path": {path}}.Encode(), "")
	if res := decodeRevalidate(t, a); a.Status != http.StatusOK || !res.Revalidated {
		t.Fatalf("revalidate on p1 = %v, want 200 revalidated:true", a)
	}
	eventually(t, "p2 serves v2", serves(t.Context(), c.client, p2.URL+path, version(path, 2), "HIT"))

	checkRevalidateGuard(t, c, p1.URL)
	// Log lines are buffered: a stopped replica has written them all.
	for _, p := range []*process{p1, p2} {
		p.signal(t, syscall.SIGTERM)
		p.wait(t)
	}
	for _, p := range []*process{p1, p2} {
		if strings.Contains(p.stdout.String(), testSecret) || strings.Contains(p.stderr.String(), testSecret) {
			t.Errorf("%s's output contains the revalidation token", p.Name)
		}
	}
	if !strings.Contains(p1.stdout.String(), `"path":"/api/revalidate?(`) {
		t.Errorf("p1's log has no request line for /api/revalidate with its query left out: the redaction was not exercised")
	}
}

// testProcessSIGTERM proves the graceful shutdown of a replica process (K1):
// on SIGTERM, /readyz answers 503 while the replica keeps serving for the
// drain delay; a request in flight when the listener closes still gets its
// answer; a regeneration still rendering at the shutdown deadline is
// abandoned and its lock released, not left to expire (its TTL is 65s:
// ISR_RENDER_TIMEOUT 60s + 5s); the process exits 0. Another replica can
// then regenerate the page at once.
func testProcessSIGTERM(t *testing.T, bin string) {
	c := newCluster(t)
	p := c.startProcess(t, bin, "p1", map[string]string{
		"ISR_REVALIDATE": "3600", "ISR_RENDER_TIMEOUT": "60s",
		"ISR_DRAIN_DELAY": "2s", "ISR_SHUTDOWN_TIMEOUT": "4s",
	})
	const page, slow = "/term", "/term/slow"
	mustGet(t, c.client, p.URL+page)

	// A regeneration of page, held at the origin, holds its lock.
	c.origin.SetVersion(page, 2)
	releasePage := c.origin.Hold(t, page)
	c.revalidateOK(t, p.URL, "", `{"paths":["`+page+`"],"mode":"stale"}`)
	if a := mustGet(t, c.client, p.URL+page); a.State != "STALE" {
		t.Fatalf("GET %s = %v, want STALE", page, a)
	}
	eventually(t, "the regeneration holds its lock and waits at the origin", func() error {
		keys, err := c.lockKeys(t.Context())
		if err == nil && (len(keys) != 1 || c.origin.InFlight(page) != 1) {
			err = fmt.Errorf("locks %v, origin requests in flight %d; want 1 and 1", keys, c.origin.InFlight(page))
		}
		return err
	})
	keys, _ := c.lockKeys(t.Context())
	if ttl := c.admin.PTTL(t.Context(), keys[0]).Val(); ttl < 30*time.Second {
		t.Fatalf("lock TTL = %v, want about 65s (ISR_RENDER_TIMEOUT + 5s)", ttl)
	}

	// A visitor's request, held at the origin, is in flight.
	releaseSlow := c.origin.Hold(t, slow)
	type result struct {
		a   answer
		err error
	}
	inFlight := make(chan result, 1)
	go func() {
		a, err := do(t.Context(), c.client, http.MethodGet, p.URL+slow, "")
		inFlight <- result{a, err}
	}()
	eventually(t, "the visitor's request reaches the origin", func() error {
		if n := c.origin.InFlight(slow); n != 1 {
			return fmt.Errorf("origin requests in flight for %s = %d, want 1", slow, n)
		}
		return nil
	})

	p.signal(t, syscall.SIGTERM)
	eventually(t, "/readyz answers 503 while draining", func() error {
		a, err := do(t.Context(), c.client, http.MethodGet, p.URL+"/readyz", "")
		if err == nil && a.Status != http.StatusServiceUnavailable {
			err = fmt.Errorf("GET /readyz = %v, want 503", a)
		}
		return err
	})
	addr := strings.TrimPrefix(p.URL, "http://")
	eventually(t, "the listener closes after the drain delay", func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return errors.New("still accepting connections")
		}
		return nil
	})
	select {
	case r := <-inFlight:
		t.Fatalf("the in-flight request ended before the origin answered: %v, %v", r.a, r.err)
	default:
	}
	releaseSlow()
	r := <-inFlight
	if r.err != nil || r.a.Status != http.StatusOK || !strings.Contains(r.a.Body, version(slow, 1)) {
		t.Errorf("in-flight request during shutdown = %v, %v; want 200 with %q", r.a, r.err, version(slow, 1))
	}

	if code := p.wait(t); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0", code)
	}
	if p.stdout.find("stopped") == nil || p.stdout.find("regenerations did not finish") == nil {
		t.Errorf("log lines \"regenerations did not finish\" (the held render was abandoned) and \"stopped\": not both found")
	}
	if keys, err := c.lockKeys(t.Context()); err != nil || len(keys) != 0 {
		t.Errorf("locks after the process exited = %v, %v; want none (released, not left to expire)", keys, err)
	}
	if got := c.bodyOf(t, page); !strings.Contains(got, version(page, 1)) {
		t.Errorf("page in Redis = %q, want v1: the abandoned render must not be stored", got)
	}

	// Another replica regenerates at once: no lock is in its way.
	releasePage()
	r2 := c.startReplica(t, "r2", replicaConfig{Options: isr.Options{Revalidate: time.Hour}})
	res := c.revalidateOK(t, r2.URL, "path="+page, "")
	if len(res.Results) != 1 || res.Results[0].Result != string(isr.ResultRegenerated) {
		t.Errorf("revalidate on r2 after p1 stopped = %+v, want regenerated", res.Results)
	}
}
