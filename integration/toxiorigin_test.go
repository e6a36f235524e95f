package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// trickleBody is the size of the trickle origin's pages.
const trickleBody = 64 << 10

// trickleOrigin is a real HTTP origin whose pages are trickleBody bytes:
// "v<N> " then padding, with s-maxage=1, N being its version.
type trickleOrigin struct {
	URL     string
	version atomic.Int64
	renders atomic.Int64
}

func newTrickleOrigin(t *testing.T) *trickleOrigin {
	t.Helper()
	o := &trickleOrigin{}
	o.version.Store(1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.renders.Add(1)
		head := fmt.Sprintf("v%d ", o.version.Load())
		w.Header().Set("Cache-Control", "s-maxage=1")
		w.Header().Set("Content-Length", fmt.Sprint(trickleBody))
		_, _ = w.Write([]byte(head + strings.Repeat(".", trickleBody-len(head))))
	}))
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	return o
}

// testToxiSlowOrigin: the origin trickles its answers (4 KB/s: a page
// takes 16s) to replica A, whose render timeout is 1s. A cold page is
// answered 504 after the render timeout, and nothing is stored; a stored
// page is served STALE, whole, at once, while its regenerations fail in
// the background; once the origin is fast again, the page is regenerated.
// No truncated body is ever stored or served.
func testToxiSlowOrigin(t *testing.T, bin string) {
	c := newCluster(t)
	o := newTrickleOrigin(t)
	po := newToxiProxy(t, "origin", strings.TrimPrefix(o.URL, "http://"))
	a := c.startProcess(t, bin, "A", map[string]string{"ISR_ORIGIN": "http://" + po.Listen, "ISR_RENDER_TIMEOUT": "1s"})
	const page, cold = "/trickle/page", "/trickle/cold"
	if ans := mustGet(t, c.client, a.URL+page); !strings.HasPrefix(ans.Body, "v1 ") || len(ans.Body) != trickleBody {
		t.Fatalf("first GET %s = %d bytes %.10q, want v1, whole", page, len(ans.Body), ans.Body)
	}

	slow := addToxic(t, po, "trickle", "bandwidth", "downstream", map[string]any{"rate": 4})
	start := time.Now()
	ans := mustDo(t, c.client, http.MethodGet, a.URL+cold, "")
	coldTook := time.Since(start)
	if ans.Status != http.StatusGatewayTimeout || c.entry(t, cold) != nil {
		t.Errorf("GET %s while the origin trickles = %d %s, stored %v; want 504 and nothing stored",
			cold, ans.Status, ans.State, c.entry(t, cold) != nil)
	}
	var stale tally
	eventually(t, "A serves "+page+" STALE", func() error {
		start := time.Now()
		ans, err := do(t.Context(), c.client, http.MethodGet, a.URL+page, "")
		stale.add(ans, err, time.Since(start))
		switch {
		case err != nil:
			return err
		case ans.Status != http.StatusOK || !strings.HasPrefix(ans.Body, "v1 ") || len(ans.Body) != trickleBody:
			t.Fatalf("GET %s while the origin trickles = %d %s %d bytes, want 200 v1 whole", page, ans.Status, ans.State, len(ans.Body))
		case ans.State != "STALE":
			return fmt.Errorf("state %s", ans.State)
		}
		return nil
	})
	for range 10 {
		start := time.Now()
		ans, err := do(t.Context(), c.client, http.MethodGet, a.URL+page, "")
		stale.add(ans, err, time.Since(start))
		if err == nil && (ans.State != "STALE" || len(ans.Body) != trickleBody) {
			t.Errorf("GET %s while the origin trickles = %d %s %d bytes, want STALE v1 whole", page, ans.Status, ans.State, len(ans.Body))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("trickling origin: cold page %d after %v; stored page %v", ans.Status, coldTook.Round(time.Millisecond), &stale)
	if len(stale.errors) > 0 {
		t.Errorf("errors on the stored page: %v", stale.errors)
	}

	slow()
	o.version.Store(2)
	healed := time.Now()
	eventually(t, "A serves v2 once the origin is fast again", func() error {
		ans, err := do(t.Context(), c.client, http.MethodGet, a.URL+page, "")
		if err == nil && (!strings.HasPrefix(ans.Body, "v2 ") || ans.State == "MISS") {
			err = fmt.Errorf("GET = %d %s %.10q", ans.Status, ans.State, ans.Body)
		}
		return err
	})
	t.Logf("regenerated %v after the origin was fast again", time.Since(healed).Round(time.Millisecond))
	if e := c.entry(t, page); e == nil || len(e.Page.Body) != trickleBody {
		t.Errorf("stored page is not whole: %v", e)
	}
}
