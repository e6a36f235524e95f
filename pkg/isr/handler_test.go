package isr_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isrcache/isrcache/pkg/isr"
	"github.com/isrcache/isrcache/pkg/isr/isrmem"
	"github.com/isrcache/isrcache/pkg/isr/isrtest"
)

// rig is one replica in front of a scriptable origin, over real HTTP. Its
// clock (the engine's and, unless the test brings a backend, the store's)
// moves only when the test advances it.
type rig struct {
	origin *isrtest.Origin
	clock  *isrtest.Clock
	h      *isr.Handler
	front  *httptest.Server
}

func newRig(t *testing.T, opts isr.Options) *rig {
	t.Helper()
	o := &isrtest.Origin{}
	r := newRigFor(t, o, opts)
	r.origin = o
	return r
}

// newRigFor is one replica in front of the origin o, over real HTTP; the
// store is in memory unless opts says otherwise.
func newRigFor(t *testing.T, o http.Handler, opts isr.Options) *rig {
	t.Helper()
	osrv := httptest.NewServer(o)
	t.Cleanup(osrv.Close)
	u, _ := url.Parse(osrv.URL)
	clock := isrtest.NewClock(time.Now())
	if opts.Now == nil {
		// Time is stepped; polls for another holder's lock stay on real
		// timers (a cold fill releases its lock in the background, just
		// after its answer), unless the test passes its clock's After.
		opts.Now = clock.Now
	}
	if opts.Backend == nil {
		opts.Backend = isrmem.New(&isrmem.Options{Now: clock.Now})
	}
	opts.Origin = &isr.HTTPOrigin{URL: u}
	opts.Next = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }}
	h, err := isr.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer scancel()
		_ = h.Shutdown(sctx) // aborts renders still blocked in the origin
		cancel()
		<-done
	})
	front := httptest.NewServer(h)
	t.Cleanup(front.Close)
	return &rig{clock: clock, h: h, front: front}
}

// noRedirects shows redirects to the test instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type answer struct {
	status int
	header http.Header
	body   string
}

func (r *rig) do(t *testing.T, method, path string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, r.front.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (r *rig) get(t *testing.T, path string, hdr ...string) answer {
	t.Helper()
	return r.do(t, http.MethodGet, path, hdr...)
}

// eventually polls cond until it holds or 5 seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantState(t *testing.T, a answer, state string) {
	t.Helper()
	if got := a.header.Get("X-ISR-Cache"); got != state {
		t.Fatalf("X-ISR-Cache = %q, want %q (status %d, body %q)", got, state, a.status, a.body)
	}
	if cs := a.header.Get("Cache-Status"); !strings.HasPrefix(cs, "isrcache") {
		t.Fatalf("Cache-Status = %q, want an isrcache entry", cs)
	}
	if state != "BYPASS" && a.header.Get("Age") == "" {
		t.Fatalf("no Age header on a %s answer", state)
	}
}

func TestMissThenHit(t *testing.T) {
	t.Parallel()
	r := newRig(t, isr.Options{})
	a := r.get(t, "/posts/1")
	wantState(t, a, "MISS")
	if a.status != 200 || a.body != "/posts/1 v1 render #1" {
		t.Fatalf("first answer %d %q", a.status, a.body)
	}
	b := r.get(t, "/posts/1")
	wantState(t, b, "HIT")
	if b.body != a.body || r.origin.Renders("/posts/1") != 1 {
		t.Fatalf("HIT body %q after %d renders", b.body, r.origin.Renders("/posts/1"))
	}
	if h := r.do(t, http.MethodHead, "/posts/1"); h.body != "" || h.header.Get("X-ISR-Cache") != "HIT" ||
		h.header.Get("Content-Length") != itoa(len(a.body)) {
		t.Fatalf("HEAD answer %+v", h)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// inline is an Options.Go that runs a regeneration in the visit that
// started it, so that the visit's answer arrives once the regeneration ran.
func inline(f func()) { f() }
